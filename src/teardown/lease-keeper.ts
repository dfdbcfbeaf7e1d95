import type { Logger } from '@nestjs/common';
import type { WriteFence } from '../archive/archive.service.js';
import type { Teardown } from './teardown.js';
import { LeaseLostError, type TeardownRepository } from './teardown.repository.js';

/**
 * Keeps the lease alive while a runner works; a renewal refused means another worker took over.
 * Its fence is what archive writes go through: each write asks the database first, and losing
 * the lease aborts the S3 requests in flight.
 */
export class LeaseKeeper {
  private readonly timer: NodeJS.Timeout;
  private readonly aborter = new AbortController();
  readonly fence: WriteFence;

  constructor(teardowns: TeardownRepository, teardown: Teardown, leaseSeconds: number, logger: Logger) {
    this.fence = {
      signal: this.aborter.signal,
      check: async () => {
        if (this.lost || !(await teardowns.holdsLease(teardown.id, teardown.fencingToken))) {
          this.markLost();
          throw new LeaseLostError(teardown.id);
        }
      },
    };
    this.timer = setInterval(
      () => {
        teardowns.renewLease(teardown.id, teardown.fencingToken, leaseSeconds).then(
          (renewed) => {
            if (renewed) return;
            this.markLost();
            logger.warn(`teardown ${teardown.id}: lease renewal refused: another worker took it over`);
          },
          (error: unknown) => logger.warn(`teardown ${teardown.id}: lease renewal failed: ${String(error)}`),
        );
      },
      Math.max(1000, (leaseSeconds * 1000) / 3),
    );
    this.timer.unref();
  }

  /** Aborted when the lease is lost. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Set when a renewal or a fence check was refused: another worker may claim the teardown. */
  get lost(): boolean {
    return this.aborter.signal.aborted;
  }

  private markLost(): void {
    if (!this.lost) this.aborter.abort(new Error('the lease was lost'));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
