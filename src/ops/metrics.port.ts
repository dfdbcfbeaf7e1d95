/**
 * The metrics port: what the other modules report, in their own words. Only src/ops/ knows that
 * Prometheus (prom-client) is behind it; teardown, dialnexa, audit and jobs import this file alone
 * (dependency-cruiser checks it), and work unchanged without metrics (`NO_METRICS`).
 */

/** The runner's steps as measured: `settle` is the wait inside `finalize`, whose time excludes it. */
export type MeasuredStep = 'export' | 'verify' | 'audit' | 'cancel' | 'settle' | 'finalize' | 'delete';

/** `ok`: the step finished; `error`: an attempt failed (retried or recorded). */
export type StepOutcome = 'ok' | 'error';

export interface TeardownMetrics {
  stepFinished(step: MeasuredStep, outcome: StepOutcome, seconds: number): void;
  /** A runner ended a teardown (completed or failed) in this process. */
  teardownEnded(status: 'completed' | 'failed', dryRun: boolean): void;
  /** An archive snapshot this process wrote: its objects' bytes and its leads. */
  archiveWritten(snapshot: 'export' | 'final', bytes: number, leads: number): void;
}

/** A DialNexa endpoint as a template (never a workflow or lead id: a label must stay low in cardinality). */
export type UpstreamEndpoint =
  | 'workflow.get'
  | 'nodes.list'
  | 'edges.list'
  | 'leads.list'
  | 'lead_history.get'
  | 'workflow.cancel'
  | 'workflow.delete'
  | 'workflow.create'
  | 'nodes.create'
  | 'edges.create'
  | 'leads.upload'
  | 'nodes.delete'
  | 'edges.delete'
  | 'probe';

export type UpstreamRetryReason = 'rate_limited' | 'server_error' | 'transport';

export interface UpstreamMetrics {
  /** One request that was answered (`status` is the HTTP status) or not (`status` null). */
  upstreamRequest(endpoint: UpstreamEndpoint, method: string, status: number | null, seconds: number): void;
  upstreamRetry(endpoint: UpstreamEndpoint, reason: UpstreamRetryReason): void;
  /** DialNexa's own rate-limit headers of its latest answer (absent values are left as they were). */
  upstreamRateLimit(limit: number | undefined, remaining: number | undefined): void;
  /** The shared budget's tokens left in the key's current window after a reservation. */
  rateBudgetRemaining(tokens: number): void;
}

export interface AuditMetrics {
  /** The outcome of the latest walk of the chain (verify, or anchoring's check of its stretch). */
  chainVerified(ok: boolean): void;
}

export interface ReadinessMetrics {
  /** The outcome of one readiness check (`database`, `bucket`, `upstream`, `shutdown`) at `/readyz`. */
  readinessChecked(check: string, ok: boolean): void;
}

export interface HttpMetrics {
  /** `route` is the route template (`/v1/teardowns/:id`), never the raw path. */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
}

/** Readings taken when /metrics is scraped, each from one cheap query of the module that owns it. */
export interface ScrapeReadings {
  teardownsByStatus: Readonly<Record<string, number>>;
  /** Age of the oldest teardown waiting in `queued`, 0 when none. */
  oldestQueuedSeconds: number;
  /** Longest time any running teardown has gone without a change of its row (a step, progress), 0 when none. */
  longestIdleRunningSeconds: number;
  queueJobs: Readonly<{ queued: number; active: number }>;
  auditHeadSeq: number;
  /** Age of the oldest audit event that no anchor known to this process covers, 0 when none. */
  anchorLagSeconds: number;
}

export type ScrapeSource = () => Promise<Partial<ScrapeReadings>>;

export interface ScrapeSources {
  /** Registered once at start-up by the module that owns the data; `name` labels its failures. */
  addScrapeSource(name: string, source: ScrapeSource): void;
}

export type Metrics = TeardownMetrics &
  UpstreamMetrics &
  AuditMetrics &
  ReadinessMetrics &
  HttpMetrics &
  ScrapeSources;

/** Injection token of the `Metrics` implementation (global, from OpsModule's MetricsModule). */
export const METRICS = Symbol('METRICS');

/** For code built outside Nest (tests, scripts): reports nothing. */
export const NO_METRICS: Metrics = {
  stepFinished: () => undefined,
  teardownEnded: () => undefined,
  archiveWritten: () => undefined,
  upstreamRequest: () => undefined,
  upstreamRetry: () => undefined,
  upstreamRateLimit: () => undefined,
  rateBudgetRemaining: () => undefined,
  chainVerified: () => undefined,
  readinessChecked: () => undefined,
  httpRequest: () => undefined,
  addScrapeSource: () => undefined,
};
