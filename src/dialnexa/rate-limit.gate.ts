import { setTimeout as delay } from 'node:timers/promises';
import { DomainError } from '../common/domain-error.js';

/** The raw rate-limit headers of one DialNexa response (`undefined` when absent). */
export interface RateLimitHeaders {
  /** `X-RateLimit-Limit` */
  limit?: string;
  /** `X-RateLimit-Remaining` */
  remaining?: string;
  /** `X-RateLimit-Reset`: a Unix timestamp in seconds, or seconds from now when below 10^9. */
  reset?: string;
  /** `Retry-After`: seconds, or an HTTP date. */
  retryAfter?: string;
}

/**
 * Paces every request of one DialNexa API key. DialNexa limits per key, so every caller of the
 * key must go through the same gate: in-process today, shared through PostgreSQL across replicas
 * later. Keep this interface small so that both fit.
 */
export interface RateGate {
  /**
   * Resolves once a request may be sent. Rejects with `UPSTREAM_RATE_LIMITED` (retryable) when the
   * wait would exceed the configured maximum, or with the signal's reason when it aborts.
   */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Learns from every response, whatever its status. */
  observe(headers: RateLimitHeaders, status: number): void;
}

export type Clock = () => number;
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Sleeps, rejecting with the signal's own reason (not a generic AbortError) when it aborts. */
export const realSleep: Sleep = async (ms, signal) => {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
};

/** Values of `X-RateLimit-Reset` below this are seconds from now, not a Unix timestamp. */
const RELATIVE_RESET_BELOW = 1e9;
/** Values from here on can only be Unix timestamps in milliseconds. */
const MILLISECONDS_FROM = 1e12;

function parseNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || !/^\d+(\.\d+)?$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** `X-RateLimit-Reset` as an absolute time in ms, accepting both forms DialNexa was seen to send. */
export function parseResetAt(value: string | undefined, now: number): number | undefined {
  const n = parseNumber(value);
  if (n === undefined) return undefined;
  if (n < RELATIVE_RESET_BELOW) return now + n * 1000;
  if (n >= MILLISECONDS_FROM) return n;
  return n * 1000;
}

/** `Retry-After` as an absolute time in ms: delta-seconds or an HTTP date. */
export function parseRetryAfterAt(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseNumber(value);
  if (seconds !== undefined) return now + seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date;
}

export interface InProcessRateGateOptions {
  /** The longest one acquire may wait before failing retryably (`maxRateLimitWaitMs`). */
  maxWaitMs: number;
  clock?: Clock;
  sleep?: Sleep;
  /** How long a 429 that names no time (no Retry-After, no X-RateLimit-Reset) blocks. */
  fallbackPenaltyMs?: number;
}

/**
 * One process's view of the key's window. Invariants: after a 429, nothing is sent before its
 * `Retry-After` (or, without it, `X-RateLimit-Reset`) has passed; once `X-RateLimit-Remaining`
 * reaches 0, nothing is sent before the reset. Observations only ever push the gate later: a
 * response that arrives late must not reopen a window another response closed.
 */
export class InProcessRateGate implements RateGate {
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly maxWaitMs: number;
  private readonly fallbackPenaltyMs: number;
  private notBefore = 0;

  constructor(options: InProcessRateGateOptions) {
    this.maxWaitMs = options.maxWaitMs;
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.fallbackPenaltyMs = options.fallbackPenaltyMs ?? 1000;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    // loop: while this caller slept, another response may have pushed the gate further
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const now = this.clock();
      const waitMs = this.notBefore - now;
      if (waitMs <= 0) return;
      if (waitMs > this.maxWaitMs) {
        throw new DomainError(
          'UPSTREAM_RATE_LIMITED',
          `DialNexa rate limit: the next request may go in ${Math.ceil(waitMs / 1000)} s, more than the ${Math.ceil(this.maxWaitMs / 1000)} s allowed`,
          { retryable: true, details: { waitMs, retryAt: new Date(this.notBefore).toISOString() } },
        );
      }
      await this.sleep(waitMs, signal);
    }
  }

  observe(headers: RateLimitHeaders, status: number): void {
    const now = this.clock();
    if (status === 429) {
      const until =
        parseRetryAfterAt(headers.retryAfter, now) ??
        parseResetAt(headers.reset, now) ??
        now + this.fallbackPenaltyMs;
      this.block(until);
      return;
    }
    if (parseNumber(headers.remaining) === 0) {
      const until = parseResetAt(headers.reset, now);
      if (until !== undefined) this.block(until);
    }
  }

  private block(until: number): void {
    if (until > this.notBefore) this.notBefore = until;
  }
}
