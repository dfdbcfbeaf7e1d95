import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { RestoreRepository } from './restore.repository.js';
import { RestoreRunner } from './restore.runner.js';

/**
 * Connects the restore runner to the durable queue, and sweeps for restores no worker holds: one
 * whose process died is taken up again once its lease expired, even if its job was lost.
 */
@Injectable()
export class RestoreWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RestoreWorker.name);
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly queue: JobQueueService,
    private readonly runner: RestoreRunner,
    private readonly restores: RestoreRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.runner.enabled) return;
    await this.queue.workRestores(this.config.runner.concurrency, (job) => this.runner.run(job.restoreId));
    this.sweeper = setInterval(() => void this.sweep(), this.config.runner.sweepIntervalS * 1000);
    this.sweeper.unref();
    void this.sweep();
  }

  /** Before the queue drains (TeardownWorker stops it): restores in progress stop at their next request. */
  beforeApplicationShutdown(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.runner.stop();
  }

  async sweep(): Promise<void> {
    try {
      for (const id of await this.restores.findStalled(this.config.runner.leaseSeconds)) {
        this.logger.log(`restore ${id} has no live worker: queueing it again`);
        await this.queue.offerRestore(id);
      }
    } catch (error) {
      this.logger.warn(`restore sweep failed: ${String(error)}`);
    }
  }
}
