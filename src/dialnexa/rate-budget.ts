import { parseResetAt, parseRetryAfterAt, type RateLimitHeaders } from './rate-limit.gate.js';

/**
 * The state of one DialNexa API key's rate window, as every replica shares it (a row in
 * PostgreSQL, see RateBudgetRepository). All times are epoch milliseconds.
 *
 * DialNexa counts requests per key in fixed windows and says so on every answer
 * (`X-RateLimit-Limit`, `-Remaining`, `-Reset`). The budget spends that window as tokens: each
 * request takes one before it is sent, so replicas sharing the key together use the whole window
 * instead of each discovering the limit by a 429.
 */
export interface RateBudgetState {
  /** `X-RateLimit-Limit` last seen; null until an answer carried it. */
  limit: number | null;
  /** Tokens left in the current window; null while unknown (nothing is then held back). */
  remaining: number | null;
  /** When the current window ends (`X-RateLimit-Reset`); null when not known. */
  windowEndsAt: number | null;
  /** Nothing is sent before this (a 429's Retry-After). */
  notBefore: number;
  /**
   * True while the window is one this budget started itself (the last one ended): its tokens are
   * counted, but its end, and how many requests the server already counts in it, are only known
   * from its first answer. Until then one request at a time goes (a probe, see `probedAt`).
   */
  provisional: boolean;
  /** When the provisional window's last probe was granted (0: none). */
  probedAt: number;
  /**
   * Requests let through while nothing was known (before any answer named the window): the first
   * answer's count does not include those still in flight, so they are taken off it.
   */
  spentUnknown: number;
}

export const EMPTY_BUDGET: RateBudgetState = {
  limit: null,
  remaining: null,
  windowEndsAt: null,
  notBefore: 0,
  provisional: false,
  probedAt: 0,
  spentUnknown: 0,
};

export type Reservation =
  | {
      granted: true;
      /** Tokens taken: 1, or more from `reserveBatch` while the window has plenty left. */
      count: number;
      /** The tokens may be spent until then (the window's end); unspent ones lapse. */
      validUntil: number;
      next: RateBudgetState;
    }
  | { granted: false; retryAt: number; next: RateBudgetState };

/**
 * A batch takes at most this share of what is left in the window, so replicas sharing a key
 * never starve each other, and what lapses unspent at the window's end stays small.
 */
const BATCH_SHARE = 1 / 20;

/** While a provisional window waits for its probe's answer, ask again this often. */
const PROVISIONAL_POLL_MS = 50;
/** A probe not answered within this (lost, slow) lets another one go. */
const PROBE_TIMEOUT_MS = 1_000;
/**
 * A provisional window's guessed end, for when none of its answers arrive (all lost): the budget
 * then starts another rather than wait for ever. Every DialNexa window seen so far is shorter.
 */
const PROVISIONAL_WINDOW_MS = 60_000;
/** Two resets closer than this name the same window (a relative Reset is rounded to seconds). */
const SAME_WINDOW_MS = 1_500;

/**
 * Takes one token for a request about to be sent, or says when to ask again.
 *
 * A window this budget starts itself (the one it knew ended) begins with a single probe: requests
 * sent near the end of the last window (by any replica) may reach the server after it reset and be
 * counted in the new one, which only the server's answer can tell. So the new window's tokens are
 * spent only once its first answer names its count and its end; the probe costs one round trip per
 * window, and without it every request in flight at a boundary could be refused.
 */
export function reserve(state: RateBudgetState, now: number): Reservation {
  return reserveBatch(state, now, 1);
}

/**
 * Takes up to `max` tokens at once (one round trip to the shared budget for several requests),
 * but never more than 1/20 of what is left in the window: near its end, or with a small limit,
 * one at a time. A window's probe is always a single token.
 */
export function reserveBatch(state: RateBudgetState, now: number, max: number): Reservation {
  if (state.notBefore > now) return { granted: false, retryAt: state.notBefore, next: state };
  let current = state;
  if (current.limit !== null && (current.windowEndsAt === null || current.windowEndsAt <= now)) {
    // The window we knew has ended: a new one starts with this request, its probe.
    current = {
      ...current,
      remaining: current.limit,
      windowEndsAt: now + PROVISIONAL_WINDOW_MS,
      provisional: true,
      probedAt: 0,
    };
  }
  if (current.remaining === null) {
    // nothing known yet: this request goes, and its answer says what the window holds
    return {
      granted: true,
      count: 1,
      validUntil: now,
      next: { ...current, spentUnknown: current.spentUnknown + 1 },
    };
  }
  if (current.provisional) {
    const nextProbeAt = current.probedAt === 0 ? now : current.probedAt + PROBE_TIMEOUT_MS;
    if (current.remaining > 0 && nextProbeAt <= now) {
      return {
        granted: true,
        count: 1,
        validUntil: current.windowEndsAt!,
        next: { ...current, remaining: current.remaining - 1, probedAt: now },
      };
    }
    const retryAt = Math.min(now + PROVISIONAL_POLL_MS, Math.max(nextProbeAt, now), current.windowEndsAt!);
    return { granted: false, retryAt, next: current };
  }
  if (current.remaining > 0) {
    const count = Math.max(1, Math.min(max, Math.floor(current.remaining * BATCH_SHARE)));
    return {
      granted: true,
      count,
      validUntil: current.windowEndsAt!,
      next: { ...current, remaining: current.remaining - count },
    };
  }
  return { granted: false, retryAt: current.windowEndsAt!, next: current };
}

/**
 * Whether an answer can change the shared state `known` (read in the same window): a 429, a new
 * window, another limit, or a count lower than the budget's. Most answers cannot (the budget
 * counts requests still in flight, so its count is the lower one), and their write is skipped.
 */
export function changes(
  known: RateBudgetState,
  headers: RateLimitHeaders,
  status: number,
  now: number,
): boolean {
  if (status === 429 || known.provisional || known.windowEndsAt === null || known.remaining === null)
    return true;
  const resetAt = parseResetAt(headers.reset, now);
  const limit = toCount(headers.limit);
  const remaining = toCount(headers.remaining);
  if (resetAt === undefined || limit === undefined || remaining === undefined) return false; // observe ignores it
  if (known.windowEndsAt <= now || Math.abs(resetAt - known.windowEndsAt) >= SAME_WINDOW_MS) return true;
  return limit !== known.limit || remaining < known.remaining;
}

/** Learns from an answer: the server's count wins when it is lower than ours. */
export function observe(
  state: RateBudgetState,
  headers: RateLimitHeaders,
  status: number,
  now: number,
  fallbackPenaltyMs = 1000,
): RateBudgetState {
  const resetAt = parseResetAt(headers.reset, now);
  if (status === 429) {
    const until = parseRetryAfterAt(headers.retryAfter, now) ?? resetAt ?? now + fallbackPenaltyMs;
    return {
      ...state,
      notBefore: Math.max(state.notBefore, until),
      remaining: 0,
      // the 429's own Reset is the server's word on when this window ends, whatever we thought
      windowEndsAt: resetAt ?? Math.max(state.windowEndsAt ?? 0, until),
      provisional: false,
    };
  }
  const limit = toCount(headers.limit);
  const remaining = toCount(headers.remaining);
  if (limit === undefined || remaining === undefined || resetAt === undefined) return state;
  if (state.provisional && resetAt <= now) {
    // a late answer from the window that ended (its request was sent before ours): it says
    // nothing about the new one, whose probe's answer is still awaited
    return state;
  }
  if (state.provisional) {
    // The first answer of the window we started: it names the end, and the tokens spent in it so
    // far count against the limit it names (which may differ from the one the window began with).
    const spent = state.limit !== null && state.remaining !== null ? state.limit - state.remaining : 0;
    return {
      ...state,
      limit,
      remaining: Math.max(0, Math.min(remaining, limit - spent)),
      windowEndsAt: resetAt,
      provisional: false,
      probedAt: 0,
    };
  }
  const known = state.windowEndsAt;
  if (known !== null && known > now && Math.abs(resetAt - known) < SAME_WINDOW_MS) {
    // the same window: ours counts requests still in flight too, so keep the lower count
    return { ...state, limit, remaining: Math.min(state.remaining ?? remaining, remaining) };
  }
  if (known !== null && known > now && resetAt < known) return { ...state, limit }; // a late answer
  if (state.remaining === null) {
    // the first answer ever: the requests let through before it that it does not count yet
    const unanswered = Math.max(0, state.spentUnknown - 1);
    return {
      ...state,
      limit,
      remaining: Math.max(0, Math.min(remaining, limit - state.spentUnknown, remaining - unanswered)),
      windowEndsAt: resetAt,
      spentUnknown: 0,
    };
  }
  return { ...state, limit, remaining, windowEndsAt: resetAt };
}

function toCount(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}
