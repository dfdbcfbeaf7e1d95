import { describe, expect, it } from '@jest/globals';
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
});
