import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** Below this many buckets none is forgotten. */
const SWEEP_FROM = 10_000;

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/**
 * A token bucket per authenticated caller: `burst` requests at once, refilled at `perMinute`.
 * Only authenticated requests are counted, under the caller's name, so nobody without a key can
 * spend a real caller's budget.
 *
 * The buckets live in this process's memory: the budget is per replica (N replicas allow N times
 * the rate). Good enough to stop a runaway script; not a quota. A full bucket is the same as none,
 * so full ones are forgotten once there are many: the console's sign-in keys budgets by client
 * address, which anyone can vary.
 */
@Injectable()
export class ApiRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /** The map's size at which full buckets are next swept out (doubles while few are full). */
  private sweepAt = SWEEP_FROM;
  private readonly perMs: number;
  private readonly burst: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.perMs = config.apiRateLimit.perMinute / 60_000;
    this.burst = config.apiRateLimit.burst;
  }

  /** How many budgets are remembered (the ones not full, and at most a few thousand full ones). */
  get size(): number {
    return this.buckets.size;
  }

  /** Spends one request of the caller's budget, or throws RATE_LIMITED with the wait in seconds. */
  take(caller: string, now = Date.now()): void {
    if (this.buckets.size >= this.sweepAt) this.forgetFull(now);
    const bucket = this.buckets.get(caller) ?? { tokens: this.burst, refilledAt: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.refilledAt) * this.perMs);
    bucket.refilledAt = now;
    this.buckets.set(caller, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
    throw new DomainError(
      'RATE_LIMITED',
      `too many requests from ${caller}: retry in ${retryAfterSeconds} s`,
      {
        retryable: true,
        details: { retryAfterSeconds },
      },
    );
  }

  /** Drops the buckets refilled to the burst by `now`; amortised O(1) per take. */
  private forgetFull(now: number): void {
    for (const [caller, bucket] of this.buckets) {
      if (bucket.tokens + Math.max(0, now - bucket.refilledAt) * this.perMs >= this.burst) {
        this.buckets.delete(caller);
      }
    }
    this.sweepAt = Math.max(SWEEP_FROM, this.buckets.size * 2);
  }
}
