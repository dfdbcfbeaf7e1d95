import { RateWindowTracker } from './rate-window.js';

const T0 = 1_700_000_000_000;

describe(RateWindowTracker.name, () => {
  it('knows nothing before an answer named the limit and the reset', () => {
    const sut = new RateWindowTracker();
    sut.observe({ limit: '150' }, T0);

    expect(sut.known()).toBeNull();
  });

  it('takes the window from the first answer of a window to its end, in both forms of Reset', () => {
    const sut = new RateWindowTracker();
    sut.observe({ limit: '150', remaining: '149', reset: String((T0 + 60_000) / 1000) }, T0);
    sut.observe({ limit: '150', remaining: '148', reset: String((T0 + 60_000) / 1000) }, T0 + 30_000);

    expect(sut.known()).toEqual({ limit: 150, windowMs: 60_000 });

    const relative = new RateWindowTracker();
    relative.observe({ limit: '600', remaining: '599', reset: '10' }, T0);

    expect(relative.known()).toEqual({ limit: 600, windowMs: 10_000 });
  });

  it('keeps the longest window seen: a window first answered late in it is not shorter', () => {
    const sut = new RateWindowTracker();
    sut.observe({ limit: '150', reset: String((T0 + 60_000) / 1000) }, T0);
    sut.observe({ limit: '150', reset: String((T0 + 120_000) / 1000) }, T0 + 100_000);

    expect(sut.known()).toEqual({ limit: 150, windowMs: 60_000 });
  });
});
