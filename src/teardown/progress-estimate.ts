import type { KnownRateLimit } from '../dialnexa/rate-window.js';
import type { TeardownStep } from './teardown.js';

/** DialNexa's largest page: a listing of N items takes ⌈N/100⌉ requests (one when empty). */
const PAGE_SIZE = 100;
/** The workflow, its nodes and its edges: one request each (a few nodes and edges, one page). */
const SNAPSHOT_FIXED = 3;
/** The settle wait at its cheapest: the nodes, and one count per in-transit status. */
const SETTLE_MIN = 4;
const CANCEL = 1;
const DELETE = 1;
/** Fewer requests, or a shorter time, says too little about the rate this teardown gets. */
const MIN_OBSERVED_REQUESTS = 20;
const MIN_OBSERVED_MS = 2_000;

export interface EstimateInput {
  step: TeardownStep;
  dryRun: boolean;
  includeLeadHistory: boolean;
  /** DialNexa's `meta.total` of the leads, once the listing began (or the archive's count). */
  leadsTotal: number | null;
  leadsExported: number;
  historiesExported: number;
  /** DialNexa's stated limit for the key, when an answer named it. */
  rateLimit: KnownRateLimit | null;
  /** The requests this worker sent for the teardown in `elapsedMs`: the rate it actually gets. */
  observed: { requests: number; elapsedMs: number } | null;
}

export interface Estimate {
  requestsLeft: number | null;
  secondsLeft: number | null;
}

function listing(items: number): number {
  return Math.max(1, Math.ceil(items / PAGE_SIZE));
}

/**
 * The requests a teardown still expects to send from where it is, and the time they take at the
 * current rate: the slower of the key's stated limit (`limit` per window) and the rate this worker
 * has been getting. The time excludes the settle wait after the cancel, which is DialNexa's and
 * not a matter of requests.
 */
export function estimateProgress(input: EstimateInput): Estimate {
  const requestsLeft = requestsLeftOf(input);
  if (requestsLeft === null) return { requestsLeft, secondsLeft: null };
  const perSecond = currentRate(input);
  if (perSecond === null) return { requestsLeft, secondsLeft: null };
  return { requestsLeft, secondsLeft: Math.ceil(requestsLeft / perSecond) };
}

function requestsLeftOf(input: EstimateInput): number | null {
  const total = input.leadsTotal;
  const finalSnapshot = (leads: number) => SETTLE_MIN + SNAPSHOT_FIXED + listing(leads) + DELETE;
  switch (input.step) {
    case 'export': {
      if (total === null) return null;
      const pagesLeft = Math.max(0, listing(total) - Math.floor(input.leadsExported / PAGE_SIZE));
      const histories = input.includeLeadHistory ? Math.max(0, total - input.historiesExported) : 0;
      return pagesLeft + histories + (input.dryRun ? 0 : CANCEL + finalSnapshot(total));
    }
    case 'verify':
    case 'audit':
    case 'cancel':
      if (input.dryRun) return 0;
      return total === null ? null : CANCEL + finalSnapshot(total);
    case 'finalize':
      return total === null ? null : finalSnapshot(total);
    case 'delete':
      return DELETE;
  }
}

/** Requests per second, or null while neither the limit nor this worker's own pace is known. */
function currentRate(input: EstimateInput): number | null {
  const rates: number[] = [];
  if (input.rateLimit) rates.push(input.rateLimit.limit / (input.rateLimit.windowMs / 1000));
  const seen = input.observed;
  if (seen && seen.requests >= MIN_OBSERVED_REQUESTS && seen.elapsedMs >= MIN_OBSERVED_MS) {
    rates.push(seen.requests / (seen.elapsedMs / 1000));
  }
  const rate = rates.length === 0 ? null : Math.min(...rates);
  return rate !== null && rate > 0 ? rate : null;
}
