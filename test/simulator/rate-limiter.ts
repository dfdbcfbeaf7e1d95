/** DialNexa's per-key throttle: a fixed window that opens with the key's first request. */
export interface RateLimitConfig {
  limit: number;
  windowMs: number;
  /** DialNexa documents a Unix timestamp but was seen live sending seconds until reset. */
  resetHeader?: 'unix' | 'seconds';
}

export interface RateLimitDecision {
  allowed: boolean;
  headers: Record<string, string>;
  /** Whole seconds until the window resets; only meaningful when not allowed. */
  retryAfterS: number;
}

interface Window {
  startMs: number;
  count: number;
}

export class FixedWindowRateLimiter {
  private readonly config: Required<RateLimitConfig>;
  private readonly windows = new Map<string, Window>();

  constructor(config: RateLimitConfig) {
    if (!Number.isInteger(config.limit) || config.limit < 1)
      throw new RangeError('rateLimit.limit must be >= 1');
    if (!(config.windowMs > 0)) throw new RangeError('rateLimit.windowMs must be > 0');
    this.config = { resetHeader: 'unix', ...config };
  }

  /** Counts one request for `bucket`. */
  hit(bucket: string, nowMs: number): RateLimitDecision {
    const window = this.current(bucket, nowMs);
    window.count++;
    const allowed = window.count <= this.config.limit;
    return {
      allowed,
      headers: this.headers(window, nowMs),
      retryAfterS: this.secondsUntilReset(window, nowMs),
    };
  }

  /** The headers for a response that does not count against the window. */
  peek(bucket: string, nowMs: number): Record<string, string> {
    const window = this.windows.get(bucket);
    const live =
      window && nowMs < window.startMs + this.config.windowMs ? window : { startMs: nowMs, count: 0 };
    return this.headers(live, nowMs);
  }

  /** Headers for an answer that says "throttled" regardless of the real window (fault injection). */
  throttledHeaders(retryAfterS: number, nowMs: number): Record<string, string> {
    const resetAtMs = nowMs + retryAfterS * 1000;
    return {
      'X-RateLimit-Limit': String(this.config.limit),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': this.resetValue(resetAtMs, nowMs),
      'Retry-After': String(retryAfterS),
    };
  }

  private current(bucket: string, nowMs: number): Window {
    let window = this.windows.get(bucket);
    if (!window || nowMs >= window.startMs + this.config.windowMs) {
      window = { startMs: nowMs, count: 0 };
      this.windows.set(bucket, window);
    }
    return window;
  }

  private secondsUntilReset(window: Window, nowMs: number): number {
    return Math.max(1, Math.ceil((window.startMs + this.config.windowMs - nowMs) / 1000));
  }

  private resetValue(resetAtMs: number, nowMs: number): string {
    return this.config.resetHeader === 'seconds'
      ? String(Math.max(0, Math.ceil((resetAtMs - nowMs) / 1000)))
      : String(Math.ceil(resetAtMs / 1000));
  }

  private headers(window: Window, nowMs: number): Record<string, string> {
    return {
      'X-RateLimit-Limit': String(this.config.limit),
      'X-RateLimit-Remaining': String(Math.max(0, this.config.limit - window.count)),
      'X-RateLimit-Reset': this.resetValue(window.startMs + this.config.windowMs, nowMs),
    };
  }
}
