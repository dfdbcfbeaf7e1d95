import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { EMPTY_BUDGET, type RateBudgetState } from './rate-budget.js';
import type { RateBudgetRepository } from './rate-budget.repository.js';
import { SharedRateGate } from './shared-rate.gate.js';

const NOW = 1_800_000_000_000;

/** A budget row in memory, counting its transactions; `fail` makes it unreachable. */
function fakeBudgets(initial: RateBudgetState, fail = false) {
  const budgets = {
    state: { ...initial },
    transactions: 0,
    async apply<T>(_key: string, change: (state: RateBudgetState) => { next: RateBudgetState; result: T }) {
      budgets.transactions += 1;
      await new Promise((resolve) => setImmediate(resolve)); // a round trip: others ask meanwhile
      if (fail) throw new Error('connection refused');
      const { next, result } = change({ ...budgets.state });
      budgets.state = next;
      return result;
    },
  };
  return budgets;
}

function build(initial: RateBudgetState, fail = false) {
  const budgets = fakeBudgets(initial, fail);
  const sut = new SharedRateGate(budgets as unknown as RateBudgetRepository, 'http://dialnexa', 'key', {
    maxWaitMs: 60_000,
    clock: () => NOW,
    sleep: () => Promise.resolve(),
  });
  return { sut, budgets };
}

const KNOWN_WINDOW: RateBudgetState = {
  ...EMPTY_BUDGET,
  limit: 1_000_000,
  remaining: 1_000_000,
  windowEndsAt: NOW + 60_000,
};

describe(SharedRateGate.name, () => {
  it('lets requests that wait for tokens at once share one reservation, wasting none', async () => {
    const { sut, budgets } = build(KNOWN_WINDOW);

    await Promise.all(Array.from({ length: 4 }, () => sut.acquire()));
    await Promise.all(Array.from({ length: 4 }, () => sut.acquire()));

    // 8 requests, one batch of 8: one transaction, and no token taken that no request spent
    expect(budgets.transactions).toBe(1);
    expect(budgets.state.remaining).toBe(1_000_000 - 8);
  });

  it('lets each request through while nothing is known of the window, one grant each', async () => {
    const { sut, budgets } = build(EMPTY_BUDGET);

    await Promise.all(Array.from({ length: 3 }, () => sut.acquire()));

    expect(budgets.state.spentUnknown).toBe(3);
    expect(budgets.transactions).toBe(3);
  });

  it('paces by this process alone when the budget is unreachable, without failing the request', async () => {
    const { sut, budgets } = build(KNOWN_WINDOW, true);

    await expect(Promise.all([sut.acquire(), sut.acquire()])).resolves.toEqual([undefined, undefined]);
    // the two shared the failed round trip: the database was not asked twice for it
    expect(budgets.transactions).toBe(1);
  });

  it('lets the others through when the request whose call started the reservation is aborted, and keeps its token for them', async () => {
    const { sut, budgets } = build(KNOWN_WINDOW);
    const first = new AbortController();
    const reason = new Error('teardown cancelled');

    const aborted = sut.acquire(first.signal);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(budgets.transactions).toBe(1); // its reservation is under way
    const others = Array.from({ length: 3 }, () => sut.acquire());
    first.abort(reason);

    await expect(aborted).rejects.toBe(reason);
    await expect(Promise.all(others)).resolves.toHaveLength(3);
    // one batch of 8: three spent, the aborted request's token not taken with it
    expect(budgets.transactions).toBe(1);
    await Promise.all(Array.from({ length: 5 }, () => sut.acquire()));
    expect(budgets.transactions).toBe(1);
  });

  it('answers an abort at once, while the reservation it waits for is still under way', async () => {
    const { sut, budgets } = build(KNOWN_WINDOW);
    let answer = () => {};
    const apply = budgets.apply.bind(budgets);
    budgets.apply = async (key, change) => {
      await new Promise<void>((resolve) => (answer = resolve)); // PostgreSQL slow to answer
      return apply(key, change);
    };
    const waiter = new AbortController();

    const first = sut.acquire();
    const aborted = sut.acquire(waiter.signal);
    await new Promise((resolve) => process.nextTick(resolve));
    waiter.abort(new Error('shutting down'));

    await expect(aborted).rejects.toThrow('shutting down');
    answer();
    await expect(first).resolves.toBeUndefined();
    expect(budgets.transactions).toBe(1);
  });

  it('sends nothing before a 429 answered while its reservation was under way says', async () => {
    const time = { now: NOW };
    const budgets = fakeBudgets(KNOWN_WINDOW);
    let answer = () => {};
    const apply = budgets.apply.bind(budgets);
    let held = true;
    budgets.apply = async (key, change) => {
      const result = await apply(key, change);
      // the reservation is made (before the 429 is recorded), its answer slow to come back
      if (held) await new Promise<void>((resolve) => (answer = resolve));
      return result;
    };
    const sut = new SharedRateGate(budgets as unknown as RateBudgetRepository, 'http://dialnexa', 'key', {
      maxWaitMs: 60_000,
      clock: () => time.now,
      sleep: async (ms) => {
        time.now += ms;
      },
    });
    const sentAt: number[] = [];

    const waiting = Array.from({ length: 3 }, () => sut.acquire().then(() => sentAt.push(time.now)));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(budgets.state.remaining).toBeLessThan(KNOWN_WINDOW.remaining!); // reserved
    // a request sent earlier is refused: the window is spent for 5 s, whatever the reservation gives
    held = false;
    sut.observe({ retryAfter: '5' }, 429);
    answer();
    await Promise.all(waiting);

    expect(sentAt).toHaveLength(3);
    expect(Math.min(...sentAt)).toBeGreaterThanOrEqual(NOW + 5_000);
  });

  it('lets the others fall back to this process alone when the shared reservation fails, one of them aborted', async () => {
    const { sut, budgets } = build(KNOWN_WINDOW, true);
    const first = new AbortController();

    const aborted = sut.acquire(first.signal);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(budgets.transactions).toBe(1);
    const others = Array.from({ length: 3 }, () => sut.acquire());
    first.abort(new Error('stop'));

    await expect(aborted).rejects.toThrow('stop');
    await expect(Promise.all(others)).resolves.toHaveLength(3);
  });

  it('never lets more requests through than the shared budget gave tokens, however many wait at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        // at most 144 requests in a window of at least as many: batches of 8 down to 1 near its end
        fc.integer({ min: 144, max: 400 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 12 }),
        async (limit, waves) => {
          const budgets = fakeBudgets({ ...KNOWN_WINDOW, limit, remaining: limit });
          const sut = new SharedRateGate(
            budgets as unknown as RateBudgetRepository,
            'http://dialnexa',
            'key',
            {
              maxWaitMs: 60_000,
              clock: () => NOW,
              sleep: () => Promise.reject(new Error('no request should wait')),
            },
          );
          let through = 0;
          for (const size of waves) {
            await Promise.all(Array.from({ length: size }, () => sut.acquire().then(() => (through += 1))));
          }
          const held = (sut as unknown as { tokens: number }).tokens;
          // every token the budget gave is either spent by exactly one request or still held
          expect(held).toBeGreaterThanOrEqual(0);
          expect(limit - budgets.state.remaining!).toBe(through + held);
        },
      ),
      { numRuns: 150 },
    );
  });
});
