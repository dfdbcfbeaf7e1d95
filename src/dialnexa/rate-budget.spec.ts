import fc from 'fast-check';
import { EMPTY_BUDGET, observe, type RateBudgetState, reserve } from './rate-budget.js';

const NOW = 1_800_000_000_000;

function build(overrides: Partial<RateBudgetState> = {}): RateBudgetState {
  return { ...EMPTY_BUDGET, ...overrides };
}

function headers(limit: number, remaining: number, resetAtMs: number) {
  return { limit: String(limit), remaining: String(remaining), reset: String(Math.ceil(resetAtMs / 1000)) };
}

describe('rate budget', () => {
  it('grants freely until an answer says what the window is', () => {
    const sut = reserve(build(), NOW);
    expect(sut).toMatchObject({ granted: true, next: { remaining: null } });
  });

  it('spends the window as tokens, then waits for its end', () => {
    let state = observe(build(), headers(3, 2, NOW + 10_000), 200, NOW);
    const granted: boolean[] = [];
    for (let i = 0; i < 3; i += 1) {
      const r = reserve(state, NOW + 1);
      granted.push(r.granted);
      state = r.next;
    }
    expect(granted).toEqual([true, true, false]);
    expect(reserve(state, NOW + 1)).toMatchObject({ granted: false, retryAt: NOW + 10_000 });
  });

  it('starts a provisional window with the whole limit once the known one ended, and learns its end from its first answer', () => {
    let state = build({ limit: 3, remaining: 0, windowEndsAt: NOW });
    const first = reserve(state, NOW + 5);
    expect(first).toMatchObject({ granted: true, next: { remaining: 2, provisional: true } });
    state = reserve(reserve(first.next, NOW + 6).next, NOW + 7).next; // the whole window spent
    const spent = reserve(state, NOW + 8);
    expect(spent.granted).toBe(false);
    expect(spent.granted ? 0 : spent.retryAt).toBeLessThanOrEqual(NOW + 8 + 50); // polls for the answer

    // the first answer of the window: the server saw one request, we spent three
    const learnt = observe(state, headers(3, 2, NOW + 10_005), 200, NOW + 20);
    expect(learnt).toMatchObject({ remaining: 0, provisional: false });
    expect(learnt.windowEndsAt).toBeGreaterThan(NOW + 10_000);
  });

  it('counts a provisional window against the limit its first answer names, when the limit changed', () => {
    let state = build({ limit: 20, remaining: 0, windowEndsAt: NOW });
    for (let i = 0; i < 5; i += 1) state = reserve(state, NOW + 1).next; // 5 spent of a guessed 20
    const learnt = observe(state, headers(1_000, 999, NOW + 60_000), 200, NOW + 2);
    expect(learnt).toMatchObject({ limit: 1_000, remaining: 995, provisional: false });
  });

  it('keeps the lower count in the same window: ours includes requests still in flight', () => {
    const state = build({ limit: 10, remaining: 4, windowEndsAt: Math.ceil((NOW + 5000) / 1000) * 1000 });
    expect(observe(state, headers(10, 7, NOW + 5000), 200, NOW).remaining).toBe(4);
    expect(observe(state, headers(10, 2, NOW + 5000), 200, NOW).remaining).toBe(2);
  });

  it('after a 429 sends nothing before Retry-After', () => {
    const state = observe(build({ limit: 10, remaining: 5 }), { retryAfter: '3' }, 429, NOW);
    expect(reserve(state, NOW + 2_999)).toMatchObject({ granted: false, retryAt: NOW + 3_000 });
    expect(reserve(state, NOW + 3_000).granted).toBe(true);
  });

  it("takes a 429's own Reset as the window's end, not the later end it thought", () => {
    const state = build({ limit: 10_000, remaining: 9_000, windowEndsAt: NOW + 60_000 });
    const limited = observe(
      state,
      { retryAfter: '2', remaining: '0', reset: String((NOW + 2_000) / 1000) },
      429,
      NOW,
    );
    expect(reserve(limited, NOW + 1_999).granted).toBe(false);
    expect(reserve(limited, NOW + 2_000)).toMatchObject({ granted: true, next: { remaining: 9_999 } });
  });

  it('accepts X-RateLimit-Reset as seconds from now as well as a Unix timestamp', () => {
    const relative = observe(build(), { limit: '5', remaining: '4', reset: '7' }, 200, NOW);
    const absolute = observe(build(), headers(5, 4, NOW + 7_000), 200, NOW);
    expect(relative.windowEndsAt).toBe(NOW + 7_000);
    expect(absolute.windowEndsAt).toBe(NOW + 7_000);
  });

  it('never grants more than the limit within one known window, whatever the order of answers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.constantFrom('reserve', 'answer'), { maxLength: 200 }),
        (limit, steps) => {
          const end = NOW + 60_000;
          let state = observe(build(), headers(limit, limit, end), 200, NOW);
          let granted = 0;
          let sent = 0;
          for (const step of steps) {
            if (step === 'reserve') {
              const r = reserve(state, NOW + 1);
              state = r.next;
              if (r.granted) granted += 1;
            } else if (sent < granted) {
              sent += 1; // the server has now seen `sent` requests of this window
              state = observe(state, headers(limit, Math.max(0, limit - sent), end), 200, NOW + 1);
            }
          }
          return granted <= limit;
        },
      ),
    );
  });
});
