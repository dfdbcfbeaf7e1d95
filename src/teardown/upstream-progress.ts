import type { KnownRateLimit } from '../dialnexa/rate-window.js';
import { RequestTally } from '../dialnexa/request-tally.js';
import { estimateProgress } from './progress-estimate.js';
import type { Teardown, TeardownStep } from './teardown.js';
import type { TeardownPatch } from './teardown.repository.js';

/**
 * One claim's upstream work on a teardown: the requests it sends (counted on from the teardown's
 * recorded figure), and the estimate of what is left, written with every progress or step write.
 */
export class UpstreamProgress {
  readonly tally: RequestTally;
  /** Lead histories fetched by this claim's export. */
  historiesExported = 0;
  private readonly startedAt: number;
  private readonly startedWith: number;

  constructor(
    teardown: Pick<Teardown, 'upstreamRequests'>,
    private readonly rateLimit: () => KnownRateLimit | null,
    private readonly clock: () => number = Date.now,
  ) {
    this.tally = new RequestTally(teardown.upstreamRequests);
    this.startedWith = teardown.upstreamRequests;
    this.startedAt = clock();
  }

  /** The figures to record with a write that leaves the teardown at `step`. */
  patch(
    teardown: Pick<Teardown, 'dryRun' | 'includeLeadHistory'>,
    step: TeardownStep,
    leads: { exported: number; total: number | null },
  ): Pick<TeardownPatch, 'upstreamRequests' | 'estimate'> {
    const now = this.clock();
    const estimate = estimateProgress({
      step,
      dryRun: teardown.dryRun,
      includeLeadHistory: teardown.includeLeadHistory,
      leadsTotal: leads.total,
      leadsExported: leads.exported,
      historiesExported: this.historiesExported,
      rateLimit: this.rateLimit(),
      // this worker's own pace says something only while it lists; a settle wait is not a rate
      observed:
        step === 'export'
          ? { requests: this.tally.count - this.startedWith, elapsedMs: now - this.startedAt }
          : null,
    });
    return { upstreamRequests: this.tally.count, estimate: { ...estimate, at: new Date(now) } };
  }
}
