import { describe, expect, it } from '@jest/globals';
import { DomainError } from '../common/domain-error.js';
import type { AppConfig } from '../config/app.config.js';
import { ApiRateLimiter } from './api-rate-limiter.js';

function build(overrides: Partial<AppConfig['apiRateLimit']> = {}): ApiRateLimiter {
  return new ApiRateLimiter({ apiRateLimit: { perMinute: 60, burst: 3, ...overrides } } as AppConfig);
}

function refusal(sut: ApiRateLimiter, caller: string, now: number): DomainError | undefined {
  try {
    sut.take(caller, now);
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe(ApiRateLimiter.name, () => {
  it('allows a burst, then refuses with RATE_LIMITED and the seconds until the next token', () => {
    const sut = build();
    for (let i = 0; i < 3; i += 1) expect(refusal(sut, 'team-a', 1_000)).toBeUndefined();
    const refused = refusal(sut, 'team-a', 1_000);
    expect(refused?.code).toBe('RATE_LIMITED');
    expect(refused?.details).toEqual({ retryAfterSeconds: 1 });
  });

  it('refills at the configured rate and never above the burst', () => {
    const sut = build();
    for (let i = 0; i < 3; i += 1) sut.take('team-a', 0);
    expect(refusal(sut, 'team-a', 999)).toBeDefined();
    expect(refusal(sut, 'team-a', 2_000)).toBeUndefined();
    // an hour idle refills to the burst only
    for (let i = 0; i < 3; i += 1) expect(refusal(sut, 'team-a', 3_600_000)).toBeUndefined();
    expect(refusal(sut, 'team-a', 3_600_000)).toBeDefined();
  });

  it('keeps one budget per caller', () => {
    const sut = build({ burst: 1 });
    sut.take('team-a', 0);
    expect(refusal(sut, 'team-a', 0)).toBeDefined();
    expect(refusal(sut, 'team-b', 0)).toBeUndefined();
  });

  it('asks a slow-rate caller to wait the whole refill time', () => {
    const sut = build({ perMinute: 2, burst: 1 });
    sut.take('team-a', 0);
    expect(refusal(sut, 'team-a', 0)?.details).toEqual({ retryAfterSeconds: 30 });
  });

  it('forgets budgets that refilled, so callers keyed by client address (console sign-in) cannot grow it without bound', () => {
    const sut = build({ perMinute: 60, burst: 3 });
    // one attempt from each of 50,000 addresses, a second apart: each bucket refills in a second
    for (let i = 0; i < 50_000; i += 1) sut.take(`console-sign-in@2001:db8::${i.toString(16)}`, i * 1_000);
    expect(sut.size).toBeLessThanOrEqual(20_000);
  });

  it('still refuses a caller whose bucket is not full when the others are forgotten', () => {
    const sut = build({ perMinute: 60, burst: 1 });
    sut.take('team-a', 0);
    for (let i = 0; i < 30_000; i += 1) sut.take(`addr-${i}`, 0);
    expect(refusal(sut, 'team-a', 0)).toBeDefined();
  });
});
