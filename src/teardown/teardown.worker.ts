import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { ApprovalService } from '../approvals/approval.service.js';
import { LOG_CONTEXT, type LogContext, NO_LOG_CONTEXT } from '../common/log-context.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { METRICS, type ScrapeSources } from '../ops/metrics.port.js';
import { TeardownRepository } from './teardown.repository.js';
import { TeardownRunner } from './teardown.runner.js';

/**
 * Connects the runner to the durable queue, and sweeps for teardowns that no worker holds: a
 * teardown whose process died is taken up again once its lease expires, even if its job was lost.
 */
@Injectable()
export class TeardownWorker implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TeardownWorker.name);
  private sweeper: NodeJS.Timeout | null = null;
  private readonly logContext: LogContext;

  constructor(
    private readonly queue: JobQueueService,
    private readonly runner: TeardownRunner,
    private readonly teardowns: TeardownRepository,
    private readonly approvals: ApprovalService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(LOG_CONTEXT) logContext: LogContext | null = null,
    @Optional() @Inject(METRICS) private readonly metrics: ScrapeSources | null = null,
  ) {
    this.logContext = logContext ?? NO_LOG_CONTEXT;
  }

  /** The teardown gauges of /metrics are read from the table at each scrape. */
  onModuleInit(): void {
    this.metrics?.addScrapeSource('teardowns', async () => {
      const snapshot = await this.teardowns.metricsSnapshot();
      return {
        teardownsByStatus: snapshot.byStatus,
        oldestQueuedSeconds: snapshot.oldestQueuedSeconds,
        longestIdleRunningSeconds: snapshot.longestIdleRunningSeconds,
      };
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.runner.enabled) {
      this.logger.log('RUNNER_ENABLED=false: this process serves the API only');
      return;
    }
    // every line of a run (runner, DialNexa client, archive) names the teardown and the request
    // that queued it
    await this.queue.work(this.config.runner.concurrency, (job) =>
      this.logContext.run({ teardownId: job.teardownId, requestId: job.requestId }, () =>
        this.runner.run(job.teardownId),
      ),
    );
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
