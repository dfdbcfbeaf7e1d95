import type { Teardown } from './teardown.js';
import { LeaseLostError, type TeardownRepository, TeardownStoppedError } from './teardown.repository.js';

/**
 * Records export progress at most once a second. Each write is fenced, so it is also how a long
 * export notices that it was aborted or that it lost its lease: the lead stream then throws.
 */
export class ProgressReporter {
  private latest = 0;
  private written = -1;
  private stopped: Error | null = null;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly teardowns: TeardownRepository,
    private readonly teardown: Teardown,
    private readonly total: () => number | null,
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
      if (this.latest === this.written || this.stopped) return;
      const exported = this.latest;
      try {
        await this.teardowns.update(this.teardown, { leadsExported: exported, leadsTotal: this.total() });
        this.written = exported;
      } catch (error) {
        if (error instanceof LeaseLostError || error instanceof TeardownStoppedError) this.stopped = error;
        // other failures (database briefly unreachable) only delay the progress figure
      }
    });
    return this.flushing;
  }
}
