import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ApprovalService } from '../approvals/approval.service.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { TeardownRepository } from './teardown.repository.js';
import { TeardownRunner } from './teardown.runner.js';

/**
 * Connects the runner to the durable queue, and sweeps for teardowns that no worker holds: a
 * teardown whose process died is taken up again once its lease expires, even if its job was lost.
 */
@Injectable()
export class TeardownWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TeardownWorker.name);
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly queue: JobQueueService,
    private readonly runner: TeardownRunner,
    private readonly teardowns: TeardownRepository,
    private readonly approvals: ApprovalService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.runner.enabled) {
      this.logger.log('RUNNER_ENABLED=false: this process serves the API only');
      return;
    }
    await this.queue.work(this.config.runner.concurrency, (job) => this.runner.run(job.teardownId));
    this.sweeper = setInterval(() => void this.sweep(), this.config.runner.sweepIntervalS * 1000);
    this.sweeper.unref();
    void this.sweep();
    this.logger.log(
      `worker ${this.runner.workerId} takes teardowns (concurrency ${this.config.runner.concurrency})`,
    );
  }

  /**
   * Graceful shutdown, before the clients and the database pool close: no new step starts, waits
   * end, and the teardowns in progress are released at their last finished step for another
   * replica (or this one, restarted) to resume.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.runner.stop();
    await this.queue.stop();
  }

  async sweep(): Promise<void> {
    try {
      await this.teardowns.purgeIdempotencyKeys();
      const expired = await this.approvals.expireOverdue();
      for (const id of expired) this.logger.log(`teardown ${id}: no approval in time, rejected`);
      const stalled = await this.teardowns.findStalled(this.config.runner.leaseSeconds);
      for (const id of stalled) {
        this.logger.log(`teardown ${id} has no live worker: queueing it again`);
        await this.queue.enqueue(id);
      }
    } catch (error) {
      this.logger.warn(`sweep failed: ${String(error)}`);
    }
  }
}
