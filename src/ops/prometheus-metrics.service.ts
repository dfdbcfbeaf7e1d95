import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type {
  MeasuredStep,
  Metrics,
  ScrapeReadings,
  ScrapeSource,
  StepOutcome,
  UpstreamEndpoint,
  UpstreamRetryReason,
} from './metrics.port.js';

const PREFIX = 'dialnexa_teardown_';
/** A scrape never waits longer than this for a reading: a slow database leaves the gauges as they were. */
const SCRAPE_SOURCE_TIMEOUT_MS = 2_000;

/** Steps take from milliseconds (audit) to many minutes (export of a million leads, settle). */
const STEP_BUCKETS = [0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The metrics port on prom-client, in a registry of its own (one per application, so that tests
 * running several applications in one process keep them apart), with the process's default metrics.
 * Counters and histograms are fed as things happen; the gauges over shared state (teardowns by
 * status, queue, audit chain) are read from their owners' scrape sources when /metrics is scraped.
 */
@Injectable()
export class PrometheusMetricsService implements Metrics {
  private readonly logger = new Logger(PrometheusMetricsService.name);
  readonly registry = new Registry();
  private readonly sources = new Map<string, ScrapeSource>();

  private readonly stepDuration = new Histogram({
    name: `${PREFIX}step_duration_seconds`,
    help: 'Duration of one attempt of a teardown step (settle: the wait for leads in transit inside finalize, which excludes it).',
    labelNames: ['step', 'outcome'] as const,
    buckets: STEP_BUCKETS,
    registers: [this.registry],
  });
  private readonly ended = new Counter({
    name: `${PREFIX}teardowns_ended_total`,
    help: 'Teardowns this process ran to an end, by status (completed, failed) and dry run.',
    labelNames: ['status', 'dry_run'] as const,
    registers: [this.registry],
  });
  private readonly archiveBytes = new Counter({
    name: `${PREFIX}archive_bytes_total`,
    help: 'Bytes of archive objects written by this process, by snapshot (export, final).',
    labelNames: ['snapshot'] as const,
    registers: [this.registry],
  });
  private readonly leadsExported = new Counter({
    name: `${PREFIX}leads_exported_total`,
    help: 'Leads archived by this process, by snapshot (export, final).',
    labelNames: ['snapshot'] as const,
    registers: [this.registry],
  });
  private readonly upstreamRequests = new Counter({
    name: `${PREFIX}upstream_requests_total`,
    help: 'Requests sent to DialNexa, by endpoint template, method and answer status ("none": no answer).',
    labelNames: ['endpoint', 'method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly upstreamDuration = new Histogram({
    name: `${PREFIX}upstream_request_duration_seconds`,
    help: 'Time from sending a DialNexa request to its answer (or its failure), by endpoint template.',
    labelNames: ['endpoint'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  private readonly upstreamRateLimited = new Counter({
    name: `${PREFIX}upstream_rate_limited_total`,
    help: 'DialNexa answers 429 (rate limited), by endpoint template.',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  private readonly upstreamRetries = new Counter({
    name: `${PREFIX}upstream_retries_total`,
    help: 'DialNexa requests sent again, by endpoint template and reason (rate_limited, server_error, transport).',
    labelNames: ['endpoint', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly upstreamLimit = new Gauge({
    name: `${PREFIX}upstream_rate_limit`,
    help: "DialNexa's X-RateLimit-Limit in its latest answer: requests per window for the key.",
    registers: [], // exposed once first set (see `expose`)
  });
  private readonly upstreamRemaining = new Gauge({
    name: `${PREFIX}upstream_rate_remaining`,
    help: "DialNexa's X-RateLimit-Remaining in its latest answer: requests left in the window.",
    registers: [], // exposed once first set (see `expose`)
  });
  private readonly budgetRemaining = new Gauge({
    name: `${PREFIX}rate_budget_remaining`,
    help: "Tokens left in the key's current window of the shared rate budget after this process's latest reservation.",
    registers: [], // exposed once first set (see `expose`)
  });
  private readonly chainVerifiedGauge = new Gauge({
    name: `${PREFIX}audit_chain_verified`,
    help: 'Outcome of the latest walk of the audit chain in this process: 1 verified, 0 failed (absent before the first).',
    registers: [], // exposed once first set (see `expose`)
  });
  private readonly chainVerifiedAt = new Gauge({
    name: `${PREFIX}audit_chain_verified_timestamp_seconds`,
    help: 'Unix time of the latest walk of the audit chain in this process.',
    registers: [], // exposed once first set (see `expose`)
  });
  private readonly readiness = new Gauge({
    name: `${PREFIX}readiness_check_up`,
    help: 'Outcome of the latest /readyz evaluation of each check: 1 up, 0 down (shutdown: 0 once shutdown began).',
    labelNames: ['check'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Duration of HTTP requests served, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  private readonly teardowns = new Gauge({
    name: `${PREFIX}teardowns`,
    help: 'Teardowns in the database, by status (read at scrape).',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly oldestQueued = new Gauge({
    name: `${PREFIX}oldest_queued_seconds`,
    help: 'Age of the oldest teardown waiting in status queued, 0 when none (read at scrape).',
    registers: [this.registry],
  });
  private readonly idleRunning = new Gauge({
    name: `${PREFIX}longest_idle_running_seconds`,
    help: 'Longest time a running teardown (queued, exporting, cancelling, deleting) has gone without a change (read at scrape).',
    registers: [this.registry],
  });
  private readonly queueJobs = new Gauge({
    name: `${PREFIX}queue_jobs`,
    help: 'Jobs of the teardown queue, by state (queued, active) (read at scrape).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  private readonly auditHead = new Gauge({
    name: `${PREFIX}audit_chain_head_seq`,
    help: "Sequence number of the audit chain's newest event: its length (read at scrape).",
    registers: [this.registry],
  });
  private readonly anchorLag = new Gauge({
    name: `${PREFIX}audit_anchor_lag_seconds`,
    help: 'Age of the oldest audit event no anchor covers, 0 when the head is anchored (read at scrape).',
    registers: [this.registry],
  });
  private readonly scrapeErrors = new Counter({
    name: `${PREFIX}scrape_source_errors_total`,
    help: 'Readings that failed or timed out during a scrape, by source; their gauges keep the previous value.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  stepFinished(step: MeasuredStep, outcome: StepOutcome, seconds: number): void {
    this.stepDuration.observe({ step, outcome }, seconds);
  }

  teardownEnded(status: 'completed' | 'failed', dryRun: boolean): void {
    this.ended.inc({ status, dry_run: String(dryRun) });
  }

  archiveWritten(snapshot: 'export' | 'final', bytes: number, leads: number): void {
    this.archiveBytes.inc({ snapshot }, bytes);
    this.leadsExported.inc({ snapshot }, leads);
  }

  upstreamRequest(endpoint: UpstreamEndpoint, method: string, status: number | null, seconds: number): void {
    this.upstreamRequests.inc({ endpoint, method, status: status === null ? 'none' : String(status) });
    this.upstreamDuration.observe({ endpoint }, seconds);
    if (status === 429) this.upstreamRateLimited.inc({ endpoint });
  }

  upstreamRetry(endpoint: UpstreamEndpoint, reason: UpstreamRetryReason): void {
    this.upstreamRetries.inc({ endpoint, reason });
  }

  upstreamRateLimit(limit: number | undefined, remaining: number | undefined): void {
    if (limit !== undefined) this.expose(this.upstreamLimit).set(limit);
    if (remaining !== undefined) this.expose(this.upstreamRemaining).set(remaining);
  }

  rateBudgetRemaining(tokens: number): void {
    this.expose(this.budgetRemaining).set(tokens);
  }

  chainVerified(ok: boolean): void {
    this.expose(this.chainVerifiedGauge).set(ok ? 1 : 0);
    this.expose(this.chainVerifiedAt).set(Date.now() / 1000);
  }

  /** Every metric name this service exports, those not exposed yet included (for tests of queries). */
  async metricNames(): Promise<string[]> {
    const registered = (await this.registry.getMetricsAsJSON()).map((m) => ({
      name: m.name,
      type: String(m.type),
    }));
    const lazy = [
      this.upstreamLimit,
      this.upstreamRemaining,
      this.budgetRemaining,
      this.chainVerifiedGauge,
      this.chainVerifiedAt,
    ];
    const all = [
      ...registered,
      ...(await Promise.all(lazy.map(async (g) => (await g.get()).name))).map((name) => ({
        name,
        type: 'gauge',
      })),
    ];
    return [
      ...new Set(
        all.flatMap(({ name, type }) =>
          type === 'histogram' ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
        ),
      ),
    ];
  }

  readinessChecked(check: string, ok: boolean): void {
    this.readiness.set({ check }, ok ? 1 : 0);
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  addScrapeSource(name: string, source: ScrapeSource): void {
    this.sources.set(name, source);
  }

  /** The exposition text, after reading every scrape source (at once, each within its timeout). */
  async scrape(): Promise<{ contentType: string; text: string }> {
    await Promise.all([...this.sources].map(([name, source]) => this.read(name, source)));
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /**
   * An unlabelled gauge reads 0 until it is set, which would say "no rate budget left" or "the chain
   * failed verification" before anything was measured: such gauges join the registry once set.
   */
  private expose(gauge: Gauge): Gauge {
    if (!this.registry.getSingleMetric((gauge as unknown as { name: string }).name))
      this.registry.registerMetric(gauge);
    return gauge;
  }

  private async read(name: string, source: ScrapeSource): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const readings = await Promise.race([
        source(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no reading within ${SCRAPE_SOURCE_TIMEOUT_MS} ms`)),
            SCRAPE_SOURCE_TIMEOUT_MS,
          );
        }),
      ]);
      this.apply(readings);
    } catch (error) {
      // a scrape still answers: the gauges of this source keep their last values, and the failure counts
      this.scrapeErrors.inc({ source: name });
      this.logger.warn(
        `metrics source ${name} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private apply(readings: Partial<ScrapeReadings>): void {
    if (readings.teardownsByStatus) {
      this.teardowns.reset();
      for (const [status, count] of Object.entries(readings.teardownsByStatus)) {
        this.teardowns.set({ status }, count);
      }
    }
    if (readings.oldestQueuedSeconds !== undefined) this.oldestQueued.set(readings.oldestQueuedSeconds);
    if (readings.longestIdleRunningSeconds !== undefined)
      this.idleRunning.set(readings.longestIdleRunningSeconds);
    if (readings.queueJobs) {
      this.queueJobs.set({ state: 'queued' }, readings.queueJobs.queued);
      this.queueJobs.set({ state: 'active' }, readings.queueJobs.active);
    }
    if (readings.auditHeadSeq !== undefined) this.auditHead.set(readings.auditHeadSeq);
    if (readings.anchorLagSeconds !== undefined) this.anchorLag.set(readings.anchorLagSeconds);
  }
}
