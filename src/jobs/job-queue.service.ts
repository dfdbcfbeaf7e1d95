import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { PgBoss } from 'pg-boss';
import { currentRequestId } from '../common/request-context.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { METRICS, type ScrapeSources } from '../ops/metrics.port.js';

/**
 * A `short` queue keyed by teardown id holds at most one waiting job per teardown, so re-queueing
 * (the sweeper, a retry) never piles up duplicates. Running jobs are not limited by the queue: a
 * frozen worker's job may still count as active, and the teardown's own lease (not pg-boss's
 * heartbeat) decides who may run it, so a takeover need not wait for that job to expire.
 */
export const TEARDOWN_QUEUE = 'teardown';
/** Restores, keyed by restore id, with the same policy. */
export const RESTORE_QUEUE = 'restore';

/**
 * How long a shutdown waits for the handlers in progress. A container's stop timeout must be
 * longer (Dockerfile, docker-compose.yml; checked by test/deploy/compose.spec.ts).
 */
export const QUEUE_DRAIN_TIMEOUT_MS = 30_000;

export interface TeardownJob {
  teardownId: string;
  /** The request that queued the run, when one did (the sweeper does not): its logs carry it. */
  requestId?: string;
}

export interface RestoreJob {
  restoreId: string;
  requestId?: string;
}

/**
 * The durable queue (pg-boss, in the service's own PostgreSQL database, schema `pgboss`). A job
 * only says "run this teardown"; the teardown row is the state. A job whose worker dies stops
 * sending heartbeats and is handed to another worker after `heartbeatSeconds`.
 */
@Injectable()
export class JobQueueService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(JobQueueService.name);
  private boss: PgBoss | null = null;
  private starting: Promise<PgBoss> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(METRICS) private readonly metrics: ScrapeSources | null = null,
  ) {}

  onModuleInit(): void {
    this.metrics?.addScrapeSource('queue', async () => ({ queueJobs: await this.counts() }));
  }

  /** Jobs waiting and running, as pg-boss's monitor last counted them (no scan of the job table). */
  async counts(): Promise<{ queued: number; active: number }> {
    const boss = await this.started();
    const queue = await boss.getQueue(TEARDOWN_QUEUE);
    return { queued: queue?.queuedCount ?? 0, active: queue?.activeCount ?? 0 };
  }

  private async started(): Promise<PgBoss> {
    this.starting ??= (async () => {
      const boss = new PgBoss({
        connectionString: this.config.databaseUrl,
        schema: 'pgboss',
        max: 4,
        application_name: 'dialnexa-teardown-jobs',
      });
      boss.on('error', (error: Error) => this.logger.error(`job queue: ${error.message}`));
      await boss.start();
      for (const name of [TEARDOWN_QUEUE, RESTORE_QUEUE]) {
        if (await boss.getQueue(name)) continue;
        await boss.createQueue(name, {
          policy: 'short',
          // A teardown may legitimately run for a long time (waiting for leads to settle), so the
          // lease is kept alive by heartbeats rather than bounded by a short expiry.
          heartbeatSeconds: 30,
          expireInSeconds: 6 * 3600,
          retryLimit: 100,
          retryDelay: 5,
          retryBackoff: true,
          retryDelayMax: 120,
        });
      }
      this.boss = boss;
      return boss;
    })();
    return this.starting;
  }

  async enqueue(teardownId: string): Promise<void> {
    const boss = await this.started();
    // null when a job of this teardown is already waiting: nothing more to do
    const job: TeardownJob = { teardownId, requestId: currentRequestId() };
    await boss.send(TEARDOWN_QUEUE, job, { singletonKey: teardownId });
  }

  /**
   * Queues a run when the queue can be reached now. Losing this is safe, so a request that has
   * already committed its change does not fail over it: the sweeper (TeardownWorker) re-queues
   * every runnable teardown that no worker holds.
   */
  async offer(teardownId: string): Promise<void> {
    try {
      await this.enqueue(teardownId);
    } catch (error) {
      this.logger.warn(`teardown ${teardownId}: could not queue it now (${String(error)}); the sweeper will`);
    }
  }

  async work(
    concurrency: number,
    handler: (job: TeardownJob, signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const boss = await this.started();
    await boss.work<TeardownJob>(
      TEARDOWN_QUEUE,
      { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 1 },
      async ([job]) => {
        if (job) await handler(job.data, job.signal);
      },
    );
  }

  /** Queues a restore's run; losing this is safe (RestoreWorker's sweeper re-queues it). */
  async offerRestore(restoreId: string): Promise<void> {
    try {
      const boss = await this.started();
      await boss.send(
        RESTORE_QUEUE,
        { restoreId, requestId: currentRequestId() },
        { singletonKey: restoreId },
      );
    } catch (error) {
      this.logger.warn(`restore ${restoreId}: could not queue it now (${String(error)}); the sweeper will`);
    }
  }

  async workRestores(concurrency: number, handler: (job: RestoreJob) => Promise<void>): Promise<void> {
    const boss = await this.started();
    await boss.work<RestoreJob>(
      RESTORE_QUEUE,
      { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 1 },
      async ([job]) => {
        if (job) await handler(job.data);
      },
    );
  }

  async ping(): Promise<void> {
    await this.started();
  }

  /** Stops taking jobs and waits (up to QUEUE_DRAIN_TIMEOUT_MS) for the handlers in progress to return. */
  async stop(): Promise<void> {
    const boss = this.boss;
    this.boss = null;
    await boss?.stop({ graceful: true, timeout: QUEUE_DRAIN_TIMEOUT_MS, close: true });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}
