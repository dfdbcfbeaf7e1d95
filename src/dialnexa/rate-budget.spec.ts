import fc from 'fast-check';
import {
  changes,
  EMPTY_BUDGET,
  observe,
  type RateBudgetState,
  reserve,
  reserveBatch,
} from './rate-budget.js';

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

  it('starts a new window with one probe once the known one ended, and spends it once its first answer names it', () => {
    let state = build({ limit: 3, remaining: 0, windowEndsAt: NOW });
    const probe = reserve(state, NOW + 5);
    expect(probe).toMatchObject({ granted: true, next: { remaining: 2, provisional: true } });
    state = probe.next;
    // nothing more until the probe is answered: requests of the last window may still land in it
    const waiting = reserve(state, NOW + 6);
    expect(waiting.granted).toBe(false);
    expect(waiting.granted ? 0 : waiting.retryAt).toBeLessThanOrEqual(NOW + 6 + 50);

    // the first answer of the window: the server counted two (a straggler of the last window too)
    const learnt = observe(state, headers(3, 1, NOW + 10_005), 200, NOW + 20);
    expect(learnt).toMatchObject({ remaining: 1, provisional: false });
    expect(learnt.windowEndsAt).toBeGreaterThan(NOW + 10_000);
    const next = reserve(learnt, NOW + 21);
    expect(next).toMatchObject({ granted: true, next: { remaining: 0 } });
    expect(reserve(next.next, NOW + 22).granted).toBe(false);
  });

  it('lets another probe go when the first one is not answered within a second', () => {
    const state = reserve(build({ limit: 3, remaining: 0, windowEndsAt: NOW }), NOW).next;
    expect(reserve(state, NOW + 999).granted).toBe(false);
    expect(reserve(state, NOW + 1_000)).toMatchObject({
      granted: true,
      next: { remaining: 1, probedAt: NOW + 1_000 },
    });
  });

  it("ignores a late answer of the ended window while the new one's probe is out", () => {
    const state = reserve(build({ limit: 3, remaining: 0, windowEndsAt: NOW }), NOW + 1).next;
    const late = observe(state, headers(3, 0, NOW), 200, NOW + 2);
    expect(late).toEqual(state);
    expect(reserve(late, NOW + 3).granted).toBe(false); // still one probe, not a fresh window
  });

  it('counts a provisional window against the limit its first answer names, when the limit changed', () => {
    let state = build({ limit: 20, remaining: 0, windowEndsAt: NOW });
    state = reserve(state, NOW + 1).next; // the probe, of a guessed 20
    const learnt = observe(state, headers(1_000, 999, NOW + 60_000), 200, NOW + 2);
    expect(learnt).toMatchObject({ limit: 1_000, remaining: 999, provisional: false });
  });

  it('takes tokens in batches of at most a twentieth of what is left, one at a time near the end', () => {
    const windowEndsAt = NOW + 10_000;
    const plenty = reserveBatch(build({ limit: 600, remaining: 600, windowEndsAt }), NOW, 8);
    expect(plenty).toMatchObject({
      granted: true,
      count: 8,
      validUntil: windowEndsAt,
      next: { remaining: 592 },
    });
    const some = reserveBatch(build({ limit: 600, remaining: 100, windowEndsAt }), NOW, 8);
    expect(some).toMatchObject({ granted: true, count: 5, next: { remaining: 95 } });
    const few = reserveBatch(build({ limit: 600, remaining: 19, windowEndsAt }), NOW, 8);
    expect(few).toMatchObject({ granted: true, count: 1, next: { remaining: 18 } });
    const probe = reserveBatch(build({ limit: 600, remaining: 0, windowEndsAt: NOW }), NOW + 1, 8);
    expect(probe).toMatchObject({ granted: true, count: 1, next: { provisional: true } });
  });

  it('never grants more tokens than the window holds, whatever the batches', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.array(fc.integer({ min: 1, max: 16 }), { maxLength: 300 }),
        (limit, batches) => {
          let state = build({ limit, remaining: limit, windowEndsAt: NOW + 10_000 });
          let granted = 0;
          for (const max of batches) {
            const r = reserveBatch(state, NOW, max);
            if (r.granted) granted += r.count;
            state = r.next;
          }
          expect(granted).toBeLessThanOrEqual(limit);
          expect(granted + (state.remaining ?? 0)).toBe(limit);
        },
      ),
    );
  });

  it('knows which answers cannot change the shared state (their write is skipped)', () => {
    const windowEndsAt = Math.ceil((NOW + 5_000) / 1000) * 1000;
    const known = build({ limit: 600, remaining: 300, windowEndsAt });
    expect(changes(known, headers(600, 320, NOW + 5_000), 200, NOW)).toBe(false); // ours is lower
    expect(changes(known, headers(600, 250, NOW + 5_000), 200, NOW)).toBe(true); // the server's is
    expect(changes(known, headers(900, 320, NOW + 5_000), 200, NOW)).toBe(true); // another limit
    expect(changes(known, headers(600, 599, NOW + 15_000), 200, NOW)).toBe(true); // another window
    expect(changes(known, { retryAfter: '1' }, 429, NOW)).toBe(true);
    expect(changes({ ...known, provisional: true }, headers(600, 320, NOW + 5_000), 200, NOW)).toBe(true);
    expect(changes(known, headers(600, 320, NOW + 5_000), 200, windowEndsAt)).toBe(true); // it ended
  });

  it('takes the requests still in flight off the first answer ever', () => {
    let state = build();
    for (let i = 0; i < 8; i += 1) state = reserve(state, NOW).next; // eight sent before any answer
    // the first answer counted only its own request: 19 of 20 left, as the server saw it
    const learnt = observe(state, headers(20, 19, NOW + 2_000), 200, NOW + 5);
    expect(learnt).toMatchObject({ limit: 20, remaining: 12, spentUnknown: 0 });
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
