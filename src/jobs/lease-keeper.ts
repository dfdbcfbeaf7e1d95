import type { Logger } from '@nestjs/common';
import type { WriteFence } from '../archive/archive.service.js';

/** The lease columns of a job's row (a teardown, a restore), behind its repository. */
export interface LeaseStore {
  renewLease(id: string, token: bigint, leaseSeconds: number): Promise<boolean>;
  holdsLease(id: string, token: bigint): Promise<boolean>;
}

/** The row a runner claimed: its id and the fencing token of its claim. */
export interface LeasedRow {
  id: string;
  fencingToken: bigint;
}

/**
 * Keeps the lease alive while a runner works; a renewal refused means another worker took over.
 * Its fence is what archive writes go through: each write asks the database first, and losing
 * the lease aborts the S3 requests in flight.
 */
export class LeaseKeeper {
  private readonly timer: NodeJS.Timeout;
  private readonly aborter = new AbortController();
  readonly fence: WriteFence;

  constructor(
    teardowns: LeaseStore,
    teardown: LeasedRow,
    leaseSeconds: number,
    logger: Logger,
    /** The error a fence check throws once the lease is lost (LEASE_LOST, naming the row). */
    lostError: (id: string) => Error,
  ) {
    this.fence = {
      signal: this.aborter.signal,
      check: async () => {
        if (this.lost || !(await teardowns.holdsLease(teardown.id, teardown.fencingToken))) {
          this.markLost();
          throw lostError(teardown.id);
        }
      },
    };
    this.timer = setInterval(
      () => {
        teardowns.renewLease(teardown.id, teardown.fencingToken, leaseSeconds).then(
          (renewed) => {
            if (renewed) return;
            this.markLost();
            logger.warn(`${teardown.id}: lease renewal refused: another worker took it over`);
          },
          (error: unknown) => logger.warn(`${teardown.id}: lease renewal failed: ${String(error)}`),
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
