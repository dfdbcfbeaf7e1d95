import type { Teardown } from './teardown.js';
import { LeaseLostError, type TeardownRepository, TeardownStoppedError } from './teardown.repository.js';
import type { UpstreamProgress } from './upstream-progress.js';

/**
 * Records export progress at most once a second: the leads exported, the upstream requests sent
 * and the estimate of what is left. Each write is fenced, so it is also how a long export notices
 * that it was aborted or that it lost its lease: the lead stream then throws.
 */
export class ProgressReporter {
  private latest = 0;
  private written = '';
  private stopped: Error | null = null;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly teardowns: TeardownRepository,
    private readonly teardown: Teardown,
    private readonly total: () => number | null,
    private readonly upstream?: UpstreamProgress,
  ) {
    this.timer = setInterval(() => void this.flush(), 1000);
    this.timer.unref();
  }

  report(exported: number): void {
    this.latest = exported;
  }

  async *guard<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    for await (const item of source) {
      if (this.stopped) throw this.stopped;
      yield item;
    }
    await this.flush();
    if (this.stopped) throw this.stopped;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
  }

  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const exported = this.latest;
      const total = this.total();
      // the lead histories move the requests on while the lead count stands still
      const figures = `${exported}|${total}|${this.upstream?.tally.count ?? ''}`;
      if (figures === this.written || this.stopped) return;
      try {
        await this.teardowns.update(this.teardown, {
          leadsExported: exported,
          leadsTotal: total,
          ...this.upstream?.patch(this.teardown, 'export', { exported, total }),
        });
        this.written = figures;
      } catch (error) {
        if (error instanceof LeaseLostError || error instanceof TeardownStoppedError) this.stopped = error;
        // other failures (database briefly unreachable) only delay the progress figure
      }
    });
    return this.flushing;
  }
}
