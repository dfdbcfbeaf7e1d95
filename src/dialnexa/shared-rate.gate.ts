import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DomainError } from '../common/domain-error.js';
import { observe, reserve } from './rate-budget.js';
import type { RateBudgetRepository } from './rate-budget.repository.js';
import {
  type Clock,
  InProcessRateGate,
  type RateGate,
  type RateLimitHeaders,
  realSleep,
  type Sleep,
} from './rate-limit.gate.js';

export interface SharedRateGateOptions {
  /** The longest one acquire may wait before failing retryably (`maxRateLimitWaitMs`). */
  maxWaitMs: number;
  clock?: Clock;
  sleep?: Sleep;
}

/**
 * Paces every request of one DialNexa API key across all replicas: the key's window lives in
 * PostgreSQL (RateBudgetRepository) and each request takes a token from it before it is sent, so
 * replicas together spend the whole window without each discovering the limit by a 429.
 *
 * When PostgreSQL cannot be reached the gate falls back to this process's own view (the
 * in-process gate, fed the same answers), so an upstream request is never refused for a database
 * outage; it may then meet a 429, which both views honour.
 */
export class SharedRateGate implements RateGate {
  private readonly logger = new Logger(SharedRateGate.name);
  private readonly key: string;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly local: InProcessRateGate;
  /** Answers are written to the budget in the order they came. */
  private observed: Promise<void> = Promise.resolve();

  constructor(
    private readonly budgets: RateBudgetRepository,
    baseUrl: string,
    apiKey: string,
    private readonly options: SharedRateGateOptions,
  ) {
    // one window per key at one upstream: the same key against another DialNexa (a staging API,
    // a test simulator) is counted apart
    this.key = createHash('sha256').update(`${baseUrl}\n${apiKey}`, 'utf8').digest('hex');
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.local = new InProcessRateGate({
      maxWaitMs: options.maxWaitMs,
      clock: this.clock,
      sleep: this.sleep,
    });
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    // This process's own answers first (a 429's Retry-After, a window it saw spent): they hold
    // without a round trip to PostgreSQL, and without waiting for their write to the budget.
    await this.local.acquire(signal);
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      let retryAt: number | null;
      try {
        const now = this.clock();
        retryAt = await this.budgets.apply(this.key, (state) => {
          const reservation = reserve(state, now);
          return { next: reservation.next, result: reservation.granted ? null : reservation.retryAt };
        });
      } catch (error) {
        this.logger.warn(
          `the shared rate budget is unreachable (${String(error)}): pacing by this process alone`,
        );
        return this.local.acquire(signal);
      }
      if (retryAt === null) return;
      const waitMs = retryAt - this.clock();
      if (waitMs > this.options.maxWaitMs) {
        throw new DomainError(
          'UPSTREAM_RATE_LIMITED',
          `DialNexa rate limit: the next request may go in ${Math.ceil(waitMs / 1000)} s, more than the ${Math.ceil(this.options.maxWaitMs / 1000)} s allowed`,
          { retryable: true, details: { waitMs, retryAt: new Date(retryAt).toISOString() } },
        );
      }
      if (waitMs > 0) await this.sleep(waitMs, signal);
    }
  }

  observe(headers: RateLimitHeaders, status: number): void {
    this.local.observe(headers, status);
    const now = this.clock();
    this.observed = this.observed
      .then(() =>
        this.budgets.apply(this.key, (state) => ({
          next: observe(state, headers, status, now),
          result: undefined,
        })),
      )
      .catch((error: unknown) => {
        this.logger.warn(
          `could not record DialNexa's rate-limit answer in the shared budget: ${String(error)}`,
        );
      });
  }
}
