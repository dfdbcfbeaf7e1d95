import { parseResetAt, type RateLimitHeaders } from './rate-limit.gate.js';

/** The key's rate limit as DialNexa states it: `limit` requests per window of `windowMs`. */
export interface KnownRateLimit {
  limit: number;
  windowMs: number;
}

/** Two resets closer than this name the same window (a relative Reset is rounded to seconds). */
const SAME_WINDOW_MS = 1_500;

/**
 * What the answers say of the key's limit, for estimates (pacing is the rate gate's business).
 * `X-RateLimit-Limit` gives the requests per window. The window's length is not sent: it is taken
 * as the longest time seen from a window's first answer to its end (`X-RateLimit-Reset`), which
 * under steady traffic is the whole window, and otherwise shorter (the estimate is then optimistic).
 */
export class RateWindowTracker {
  private limit: number | null = null;
  private windowEndsAt: number | null = null;
  private windowMs = 0;

  observe(headers: RateLimitHeaders, now: number): void {
    const limit = toCount(headers.limit);
    const endsAt = parseResetAt(headers.reset, now);
    if (limit === undefined || endsAt === undefined || endsAt <= now) return;
    this.limit = limit;
    const current = this.windowEndsAt;
    if (current !== null && (Math.abs(endsAt - current) < SAME_WINDOW_MS || endsAt < current)) return;
    // the first answer of a window (a late answer of an earlier one was skipped above)
    this.windowEndsAt = endsAt;
    this.windowMs = Math.max(this.windowMs, endsAt - now);
  }

  /** Null until an answer carried the limit and a reset. */
  known(): KnownRateLimit | null {
    if (this.limit === null || this.windowMs <= 0) return null;
    return { limit: this.limit, windowMs: this.windowMs };
  }
}

function toCount(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}
