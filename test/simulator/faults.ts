/**
 * Injected failures, switchable per test. They act in front of the simulated API, like a flaky
 * network or load balancer: a request a fault answers is neither performed nor counted by the
 * rate limiter, except `dropAfterPerformNext`, which performs and then loses the answer, and
 * `failAfterPerformNext`, which performs and then answers a 5xx.
 */
import { mulberry32 } from './seed.ts';

export interface FaultMatch {
  /** HTTP method, case-insensitive; any method when absent. */
  method?: string;
  /** Tested against the path without the query string; any path when absent. */
  path?: RegExp;
}

export type FailStatus = 500 | 502 | 503;

export interface RandomFaultOptions {
  /** Share of matching requests answered 503. */
  errorRate?: number;
  /** Share of matching requests whose connection is reset. */
  resetRate?: number;
  /** Share of matching requests answered 429. */
  rateLimitRate?: number;
  seed?: number;
}

/** What the simulator must do with a request once any delay or hang is over. */
export type FaultAction =
  | { kind: 'fail'; status: number }
  | { kind: 'reset' }
  | { kind: 'dropAfterPerform' }
  | { kind: 'failAfterPerform'; status: number }
  | { kind: 'rateLimit'; retryAfterS: number }
  | { kind: 'forbid'; message?: string | string[] }
  | { kind: 'inTransitConflict' };

interface CountedRule {
  match: FaultMatch;
  remaining: number;
  action: FaultAction;
}

interface RandomRule {
  match: FaultMatch;
  options: Required<Omit<RandomFaultOptions, 'seed'>>;
  next: () => number;
}

export interface SerializedFault {
  kind: string;
  count?: number;
  status?: number;
  method?: string;
  path?: string;
  retryAfterS?: number;
  ms?: number;
  errorRate?: number;
  resetRate?: number;
  rateLimitRate?: number;
  seed?: number;
  message?: string | string[];
}

function matches(match: FaultMatch, method: string, path: string): boolean {
  if (match.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false;
  if (match.path !== undefined) {
    // A /g or /y RegExp keeps lastIndex between calls; a fresh copy keeps matching stateless.
    const pattern = new RegExp(match.path.source, match.path.flags.replace(/[gy]/g, ''));
    if (!pattern.test(path)) return false;
  }
  return true;
}

function pickMatch(source: FaultMatch | undefined): FaultMatch {
  return { method: source?.method, path: source?.path };
}

function positiveCount(count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be a positive integer');
  return count;
}

function serverErrorStatus(status: number): number {
  if (!Number.isInteger(status) || status < 500 || status > 599) throw new RangeError('status must be a 5xx');
  return status;
}

export class Faults {
  private counted: CountedRule[] = [];
  private delays: Array<{ match: FaultMatch; ms: number }> = [];
  private hangs: FaultMatch[] = [];
  private forbidden: Array<{ match: FaultMatch; message?: string | string[] }> = [];
  private randoms: RandomRule[] = [];
  /** Requests held by `hang`, released by `clear` (or dropped by the simulator's stop). */
  private hangWaiters = new Set<() => void>();

  /** Answers the next `count` matching requests with a 5xx error body, not performing them. */
  failNext(count: number, options: FaultMatch & { status?: FailStatus } = {}): void {
    this.counted.push({
      match: pickMatch(options),
      remaining: positiveCount(count),
      action: { kind: 'fail', status: serverErrorStatus(options.status ?? 503) },
    });
  }

  /** Destroys the socket of the next `count` matching requests without answering or performing. */
  resetNext(count: number, match: FaultMatch = {}): void {
    this.counted.push({
      match: pickMatch(match),
      remaining: positiveCount(count),
      action: { kind: 'reset' },
    });
  }

  /** Performs the next `count` matching requests, then destroys the socket: the answer is lost. */
  dropAfterPerformNext(count: number, match: FaultMatch = {}): void {
    this.counted.push({
      match: pickMatch(match),
      remaining: positiveCount(count),
      action: { kind: 'dropAfterPerform' },
    });
  }

  /**
   * Performs the next `count` matching requests, then answers a 5xx error body instead of their
   * answer: DialNexa failed after acting (a create that made its object, then answered 500).
   */
  failAfterPerformNext(count: number, options: FaultMatch & { status?: FailStatus } = {}): void {
    this.counted.push({
      match: pickMatch(options),
      remaining: positiveCount(count),
      action: { kind: 'failAfterPerform', status: serverErrorStatus(options.status ?? 500) },
    });
  }

  /**
   * Answers the next `count` matching DELETEs with the documented 409 "leads in transit", not
   * performing them: DialNexa's own view of in-transit leads may trail what its listing shows.
   */
  inTransitConflictNext(count: number, match: FaultMatch = {}): void {
    this.counted.push({
      match: pickMatch(match),
      remaining: positiveCount(count),
      action: { kind: 'inTransitConflict' },
    });
  }

  /** Answers the next `count` matching requests 429 with `Retry-After: retryAfterS`. */
  rateLimitNext(count: number, options: FaultMatch & { retryAfterS?: number } = {}): void {
    const retryAfterS = options.retryAfterS ?? 2;
    if (!Number.isInteger(retryAfterS) || retryAfterS < 0)
      throw new RangeError('retryAfterS must be an integer >= 0');
    this.counted.push({
      match: pickMatch(options),
      remaining: positiveCount(count),
      action: { kind: 'rateLimit', retryAfterS },
    });
  }

  /** Delays every matching request by `ms` before it is handled, until cleared. */
  delay(ms: number, match: FaultMatch = {}): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('ms must be >= 0');
    this.delays.push({ match: pickMatch(match), ms });
  }

  /** Holds every matching request unanswered until `clear()` or the simulator stops. */
  hang(match: FaultMatch = {}): void {
    this.hangs.push(pickMatch(match));
  }

  /**
   * Answers matching requests 403, as for a key without the permission, until cleared. The
   * error body is DialNexa's (NestJS's) with `message` as given, by default "Forbidden resource":
   * real messages can be long and hold any Unicode, which JSON escapes as it must (`\u0000`, a
   * lone surrogate as `\ud800`).
   */
  forbid(options: FaultMatch & { message?: string | string[] } = {}): void {
    this.forbidden.push({ match: pickMatch(options), message: options.message });
  }

  /** Seeded random failures on each matching request, until cleared. */
  random(options: RandomFaultOptions, match: FaultMatch = {}): void {
    const rates = {
      errorRate: options.errorRate ?? 0,
      resetRate: options.resetRate ?? 0,
      rateLimitRate: options.rateLimitRate ?? 0,
    };
    const total = rates.errorRate + rates.resetRate + rates.rateLimitRate;
    if (Object.values(rates).some((rate) => !(rate >= 0)) || total > 1) {
      throw new RangeError('rates must be >= 0 and add up to at most 1');
    }
    this.randoms.push({ match: pickMatch(match), options: rates, next: mulberry32(options.seed ?? 1) });
  }

  /** Removes every fault and releases requests held by `hang`. */
  clear(): void {
    this.counted = [];
    this.delays = [];
    this.hangs = [];
    this.forbidden = [];
    this.randoms = [];
    this.releaseHangs();
  }

  /** Applies a fault described as JSON (the standalone simulator's control API). */
  apply(fault: SerializedFault): void {
    const match: FaultMatch = {
      method: typeof fault.method === 'string' ? fault.method : undefined,
      path: typeof fault.path === 'string' ? new RegExp(fault.path) : undefined,
    };
    const count = fault.count ?? 1;
    switch (fault.kind) {
      case 'failNext':
        return this.failNext(count, { ...match, status: fault.status as FailStatus | undefined });
      case 'resetNext':
        return this.resetNext(count, match);
      case 'dropAfterPerformNext':
        return this.dropAfterPerformNext(count, match);
      case 'failAfterPerformNext':
        return this.failAfterPerformNext(count, { ...match, status: fault.status as FailStatus | undefined });
      case 'rateLimitNext':
        return this.rateLimitNext(count, { ...match, retryAfterS: fault.retryAfterS });
      case 'delay':
        return this.delay(fault.ms ?? 0, match);
      case 'hang':
        return this.hang(match);
      case 'forbid':
        return this.forbid({
          ...match,
          message:
            typeof fault.message === 'string' || Array.isArray(fault.message) ? fault.message : undefined,
        });
      case 'inTransitConflictNext':
        return this.inTransitConflictNext(count, match);
      case 'random':
        return this.random(
          {
            errorRate: fault.errorRate,
            resetRate: fault.resetRate,
            rateLimitRate: fault.rateLimitRate,
            seed: fault.seed,
          },
          match,
        );
      default:
        throw new RangeError(`unknown fault kind ${String(fault.kind)}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Used by the simulator

  /** Total delay for a request arriving now, and whether it must hang. */
  holdFor(method: string, path: string): { delayMs: number; hang: boolean } {
    let delayMs = 0;
    for (const rule of this.delays) if (matches(rule.match, method, path)) delayMs += rule.ms;
    return { delayMs, hang: this.hangs.some((match) => matches(match, method, path)) };
  }

  /** Resolves once `clear()` or `releaseHangs()` is called. */
  waitForRelease(): Promise<void> {
    return new Promise((resolve) => this.hangWaiters.add(resolve));
  }

  releaseHangs(): void {
    const waiters = [...this.hangWaiters];
    this.hangWaiters.clear();
    for (const release of waiters) release();
  }

  /** The fault for a request about to be handled, consuming one use of a counted rule. */
  take(method: string, path: string): FaultAction | undefined {
    const rule = this.counted.find(
      (candidate) => candidate.remaining > 0 && matches(candidate.match, method, path),
    );
    if (rule) {
      rule.remaining--;
      this.counted = this.counted.filter((candidate) => candidate.remaining > 0);
      return rule.action;
    }
    const forbidden = this.forbidden.find((rule) => matches(rule.match, method, path));
    if (forbidden) return { kind: 'forbid', message: forbidden.message };
    for (const rule of this.randoms) {
      if (!matches(rule.match, method, path)) continue;
      const roll = rule.next();
      const { errorRate, resetRate, rateLimitRate } = rule.options;
      if (roll < errorRate) return { kind: 'fail', status: 503 };
      if (roll < errorRate + resetRate) return { kind: 'reset' };
      if (roll < errorRate + resetRate + rateLimitRate) return { kind: 'rateLimit', retryAfterS: 1 };
    }
    return undefined;
  }
}
