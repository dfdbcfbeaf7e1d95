import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DomainError } from '../common/domain-error.js';
import { changes, observe, type RateBudgetState, type Reservation, reserveBatch } from './rate-budget.js';
import type { RateBudgetRepository } from './rate-budget.repository.js';
import {
  type Clock,
  InProcessRateGate,
  type RateGate,
  type RateLimitHeaders,
  realSleep,
  type Sleep,
} from './rate-limit.gate.js';

/**
 * Most tokens one round trip to the shared budget takes (fewer near a window's end: see
 * reserveBatch): an export's pages cost one PostgreSQL transaction per batch, not one each.
 */
const MAX_BATCH = 8;

export interface SharedRateGateOptions {
  /** The longest one acquire may wait before failing retryably (`maxRateLimitWaitMs`). */
  maxWaitMs: number;
  clock?: Clock;
  sleep?: Sleep;
  /** Told the tokens left in the key's window after each granted reservation (for metrics). */
  onRemaining?: (tokens: number) => void;
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
  /** Tokens taken from the shared budget in a batch and not spent yet, valid until `tokensUntil`. */
  private tokens = 0;
  private tokensUntil = 0;
  /** The reservation under way, which every request waiting for tokens awaits. */
  private reserving: Promise<Reservation | 'unreachable'> | null = null;
  /** The shared state as this process last read or wrote it: answers that cannot change it are not written. */
  private known: RateBudgetState | null = null;
  /** 429s answered so far: a reservation made before one came back is not spent after it. */
  private refusals = 0;

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
    for (;;) {
      // This process's own answers first (a 429's Retry-After, a window it saw spent): they hold
      // without a round trip to PostgreSQL, and without waiting for their write to the budget;
      // again on each turn, as a 429 may have come while this request waited.
      await this.local.acquire(signal);
      if (signal?.aborted) throw signal.reason;
      if (this.tokens > 0 && this.clock() < this.tokensUntil) {
        this.tokens -= 1;
        return;
      }
      // One reservation at a time: the requests waiting for tokens (a page fetch runs several at
      // once) share its batch. Each taking a batch of its own, and the last one's overwriting the
      // others', spent 2.5 tokens and a transaction per 3 requests, where a batch is 8.
      this.reserving ??= this.reserve().finally(() => (this.reserving = null));
      // an abort is answered at once, and takes no token: the reservation goes on for the others
      const reservation = await untilAborted(this.reserving, signal);
      if (signal?.aborted) throw signal.reason;
      if (reservation === 'unreachable') return this.local.acquire(signal);
      if (reservation.granted) {
        // just granted (a grant while nothing is known is valid for this instant only)
        if (this.tokens > 0) {
          this.tokens -= 1;
          return;
        }
        continue; // others took them all, or a 429 came meanwhile: its wait, then another reservation
      }
      const waitMs = reservation.retryAt - this.clock();
      if (waitMs > this.options.maxWaitMs) {
        throw new DomainError(
          'UPSTREAM_RATE_LIMITED',
          `DialNexa rate limit: the next request may go in ${Math.ceil(waitMs / 1000)} s, more than the ${Math.ceil(this.options.maxWaitMs / 1000)} s allowed`,
          { retryable: true, details: { waitMs, retryAt: new Date(reservation.retryAt).toISOString() } },
        );
      }
      if (waitMs > 0) await this.sleep(waitMs, signal);
    }
  }

  /** Takes a batch of tokens from the shared budget for this process (see `tokens`). */
  private async reserve(): Promise<Reservation | 'unreachable'> {
    let reservation: Reservation;
    const refusals = this.refusals;
    try {
      const now = this.clock();
      reservation = await this.budgets.apply(this.key, (state) => {
        const taken = reserveBatch(state, now, MAX_BATCH);
        return { next: taken.next, result: taken };
      });
    } catch (error) {
      this.logger.warn(
        `the shared rate budget is unreachable (${String(error)}): pacing by this process alone`,
      );
      return 'unreachable';
    }
    this.known = reservation.next;
    // a 429 answered meanwhile: its window is spent, whatever the budget read before it was told
    if (reservation.granted && this.refusals === refusals) {
      if (reservation.next.remaining !== null) this.options.onRemaining?.(reservation.next.remaining);
      this.tokens = reservation.count;
      this.tokensUntil = reservation.validUntil;
    }
    return reservation;
  }

  observe(headers: RateLimitHeaders, status: number): void {
    this.local.observe(headers, status);
    const now = this.clock();
    if (status === 429) {
      this.tokens = 0; // the window is spent, whatever this process holds
      this.refusals += 1;
    }
    if (this.known && !changes(this.known, headers, status, now)) return;
    this.observed = this.observed
      .then(() =>
        this.budgets.apply(this.key, (state) => {
          const next = observe(state, headers, status, now);
          return { next, result: next };
        }),
      )
      .then((state) => {
        this.known = state;
      })
      .catch((error: unknown) => {
        this.logger.warn(
          `could not record DialNexa's rate-limit answer in the shared budget: ${String(error)}`,
        );
      });
  }
}

/** `promise`, or the abort's reason as soon as `signal` aborts (the promise itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
