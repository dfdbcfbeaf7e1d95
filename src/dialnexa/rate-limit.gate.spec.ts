import { describe, it, expect, jest } from '@jest/globals';
import { DomainError } from '../common/domain-error.js';
import { InProcessRateGate, type InProcessRateGateOptions, parseResetAt } from './rate-limit.gate.js';

const T0 = 1_700_000_000_000;

function build(overrides: Partial<InProcessRateGateOptions> = {}) {
  const time = { now: T0 };
  const sleeps: number[] = [];
  const sleep = jest.fn(async (ms: number) => {
    sleeps.push(ms);
    time.now += ms;
  });
  const sut = new InProcessRateGate({ maxWaitMs: 60_000, clock: () => time.now, sleep, ...overrides });
  return { sut, time, sleeps, sleep };
}

describe(InProcessRateGate.name, () => {
  it('lets a request through at once when nothing was observed', async () => {
    const { sut, sleeps } = build();

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([]);
  });

  it('holds every request back until Retry-After has passed after a 429', async () => {
    const { sut, sleeps, time } = build();
    sut.observe({ retryAfter: '7', reset: String(T0 / 1000 + 50) }, 429);

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([7000]);
    expect(time.now).toBe(T0 + 7000);
    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([7000]);
  });

  it('accepts Retry-After as an HTTP date', async () => {
    const { sut, sleeps } = build();
    sut.observe({ retryAfter: new Date(T0 + 20_000).toUTCString() }, 429);

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([20_000]);
  });

  it('falls back to X-RateLimit-Reset as a Unix timestamp in seconds after a 429 without Retry-After', async () => {
    const { sut, sleeps } = build();
    sut.observe({ reset: String(T0 / 1000 + 30), remaining: '0' }, 429);

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([30_000]);
  });

  it('reads an X-RateLimit-Reset below 10^9 as seconds from now', async () => {
    const { sut, sleeps } = build();
    sut.observe({ reset: '12' }, 429);

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([12_000]);
  });

  it('still waits a little after a 429 that names no time', async () => {
    const { sut, sleeps } = build({ fallbackPenaltyMs: 1500 });
    sut.observe({}, 429);

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([1500]);
  });

  it('waits for the reset once X-RateLimit-Remaining reaches 0', async () => {
    const { sut, sleeps } = build();
    sut.observe({ limit: '150', remaining: '0', reset: '5' }, 200);

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([5000]);
  });

  it('does not wait while requests remain in the window', async () => {
    const { sut, sleeps } = build();
    sut.observe({ limit: '150', remaining: '1', reset: '59' }, 200);

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([]);
  });

  it('fails retryably, without waiting, when the wait exceeds the maximum', async () => {
    const { sut, sleeps } = build({ maxWaitMs: 10_000 });
    sut.observe({ retryAfter: '11' }, 429);

    await expect(sut.acquire()).rejects.toBeInstanceOf(DomainError);
    await expect(sut.acquire()).rejects.toMatchObject({
      code: 'UPSTREAM_RATE_LIMITED',
      retryable: true,
      details: { waitMs: 11_000 },
    });
    expect(sleeps).toEqual([]);
  });

  it('is never shortened by a later, more lenient response', async () => {
    const { sut, sleeps } = build();
    sut.observe({ retryAfter: '10' }, 429);
    sut.observe({ retryAfter: '2' }, 429);
    sut.observe({ remaining: '0', reset: '1' }, 200);

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([10_000]);
  });

  it('waits again when another response pushed the window further during the sleep', async () => {
    const time = { now: T0 };
    const sleeps: number[] = [];
    const sut: InProcessRateGate = new InProcessRateGate({
      maxWaitMs: 60_000,
      clock: () => time.now,
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 1) sut.observe({ retryAfter: '10' }, 429); // another caller's 429, 1 s in
        time.now += ms;
      },
    });
    sut.observe({ retryAfter: '3' }, 429);

    await expect(sut.acquire()).resolves.toBeUndefined();
    expect(sleeps).toEqual([3000, 7000]);
    expect(time.now).toBe(T0 + 10_000);
  });

  it('rejects with the abort reason when the signal is already aborted', async () => {
    const { sut } = build();
    sut.observe({ retryAfter: '3' }, 429);
    const controller = new AbortController();
    const reason = new Error('lease lost');
    controller.abort(reason);

    await expect(sut.acquire(controller.signal)).rejects.toBe(reason);
  });
});

describe(parseResetAt.name, () => {
  it.each([
    ['relative seconds', '30', T0 + 30_000],
    ['a Unix timestamp in seconds', String(T0 / 1000 + 30), T0 + 30_000],
    ['a Unix timestamp in milliseconds', String(T0 + 30_000), T0 + 30_000],
    ['garbage', 'soon', undefined],
    ['absent', undefined, undefined],
  ])('reads %s', (_what, value, expected) => {
    expect(parseResetAt(value, T0)).toBe(expected);
  });
});
