import { type EstimateInput, estimateProgress } from './progress-estimate.js';

function buildInput(overrides: Partial<EstimateInput> = {}): EstimateInput {
  return {
    step: 'export',
    dryRun: false,
    includeLeadHistory: false,
    leadsTotal: 10_000,
    leadsExported: 0,
    historiesExported: 0,
    rateLimit: null,
    observed: null,
    ...overrides,
  };
}

describe('estimateProgress', () => {
  it('expects ⌈N/100⌉ requests per listing: the export, the final snapshot, and a small constant', () => {
    const estimate = estimateProgress(buildInput({ leadsTotal: 10_001 }));

    // 101 pages left of the export; cancel 1, settle 4, workflow/nodes/edges 3, 101 pages, DELETE 1
    expect(estimate.requestsLeft).toBe(101 + 1 + 4 + 3 + 101 + 1);
  });

  it('counts the pages already read off the export', () => {
    const start = estimateProgress(buildInput()).requestsLeft!;
    const halfway = estimateProgress(buildInput({ leadsExported: 5_000 })).requestsLeft!;

    expect(start - halfway).toBe(50);
  });

  it('knows nothing of the requests left before the listing gave its total', () => {
    expect(estimateProgress(buildInput({ leadsTotal: null }))).toEqual({
      requestsLeft: null,
      secondsLeft: null,
    });
  });

  it('adds one request per lead history still to fetch', () => {
    const without = estimateProgress(buildInput()).requestsLeft!;
    const before = estimateProgress(buildInput({ includeLeadHistory: true })).requestsLeft!;
    const during = estimateProgress(
      buildInput({ includeLeadHistory: true, leadsExported: 10_000, historiesExported: 4_000 }),
    ).requestsLeft!;

    expect(before - without).toBe(10_000);
    expect(during).toBe(without - 100 + 6_000);
  });

  it('takes the time at the rate the key is limited to: 150 requests a minute', () => {
    const estimate = estimateProgress(
      buildInput({ includeLeadHistory: true, rateLimit: { limit: 150, windowMs: 60_000 } }),
    );

    // 10,000 histories alone take more than an hour at 2.5 requests a second
    expect(estimate.requestsLeft).toBe(100 + 10_000 + 1 + 4 + 3 + 100 + 1);
    expect(estimate.secondsLeft).toBe(Math.ceil(estimate.requestsLeft! / 2.5));
  });

  it("takes this worker's own pace when it is slower than the limit, and only once it says something", () => {
    const limited = { rateLimit: { limit: 6_000, windowMs: 60_000 } }; // 100 a second
    const slow = estimateProgress(buildInput({ ...limited, observed: { requests: 100, elapsedMs: 10_000 } }));
    const tooEarly = estimateProgress(buildInput({ ...limited, observed: { requests: 3, elapsedMs: 100 } }));

    expect(slow.secondsLeft).toBe(Math.ceil(slow.requestsLeft! / 10));
    expect(tooEarly.secondsLeft).toBe(Math.ceil(tooEarly.requestsLeft! / 100));
  });

  it('gives no time while no rate is known', () => {
    expect(estimateProgress(buildInput()).secondsLeft).toBeNull();
  });

  it('expects nothing after the audit of a dry run, and one DELETE at the delete', () => {
    expect(estimateProgress(buildInput({ step: 'verify', dryRun: true })).requestsLeft).toBe(0);
    expect(estimateProgress(buildInput({ step: 'delete' })).requestsLeft).toBe(1);
    expect(estimateProgress(buildInput({ step: 'finalize', leadsTotal: 250 })).requestsLeft).toBe(
      4 + 3 + 3 + 1,
    );
  });
});
