/** How long the pool keeps free buffers once no upload uses any, before giving them back. */
const IDLE_TRIM_MS = 5_000;

interface Waiter {
  size: number;
  grant: (buffer: Buffer) => void;
}

/**
 * The memory the part buffers of every running upload share: at most `capacityBytes` of buffers
 * exist at once, in use or kept free for the next part. A part that does not fit waits (first
 * come, first served) until another upload's part has been sent and released, so a slow store
 * holds back the exports that write to it once the budget is full, never before.
 *
 * Buffers are reused rather than left to the garbage collector, so the memory they take is what
 * the budget says, not that plus whatever has not been collected yet; they are given back once no
 * upload has used any for a few seconds.
 */
export class PartBufferPool {
  private allocated = 0;
  private inUse = 0;
  private peak = 0;
  private free: Buffer[] = [];
  private readonly waiting: Waiter[] = [];
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly capacityBytes: number) {}

  /** Bytes of buffers handed out and not yet released. */
  get bytesInUse(): number {
    return this.inUse;
  }

  /** The most bytes ever handed out at once. */
  get peakBytesInUse(): number {
    return this.peak;
  }

  /** Bytes of buffers that exist, in use or free. */
  get bytesAllocated(): number {
    return this.allocated;
  }

  /**
   * A buffer of exactly `size` bytes (its content is whatever was there), once the budget has room.
   * Rejects with the signal's reason when it aborts first. Every buffer must be released.
   */
  acquire(size: number, signal?: AbortSignal): Promise<Buffer> {
    if (size > this.capacityBytes) {
      return Promise.reject(
        new RangeError(`a part of ${size} bytes exceeds the upload buffer budget of ${this.capacityBytes}`),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    clearTimeout(this.idleTimer);
    if (this.waiting.length === 0) {
      const buffer = this.take(size);
      if (buffer) return Promise.resolve(buffer);
    }
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal!.reason as Error);
      };
      const waiter: Waiter = {
        size,
        grant: (buffer) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(buffer);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Gives a buffer from `acquire` back (the whole buffer, not a view of it). */
  release(buffer: Buffer): void {
    this.inUse -= buffer.length;
    this.free.push(buffer);
    while (this.waiting.length > 0) {
      const next = this.take(this.waiting[0]!.size);
      if (!next) break;
      this.waiting.shift()!.grant(next);
    }
    if (this.inUse === 0 && this.waiting.length === 0) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.trim(), IDLE_TRIM_MS);
      this.idleTimer.unref();
    }
  }

  /** A buffer for `size` if the budget allows one now: a free one of that size, or a new one. */
  private take(size: number): Buffer | null {
    let buffer: Buffer | undefined;
    const index = this.free.findIndex((b) => b.length === size);
    if (index >= 0) {
      buffer = this.free.splice(index, 1)[0]!;
    } else {
      // free buffers of another size give way to a new one
      while (this.allocated + size > this.capacityBytes && this.free.length > 0) {
        this.allocated -= this.free.pop()!.length;
      }
      if (this.allocated + size > this.capacityBytes) return null;
      buffer = Buffer.allocUnsafeSlow(size);
      this.allocated += size;
    }
    this.inUse += size;
    this.peak = Math.max(this.peak, this.inUse);
    return buffer;
  }

  private trim(): void {
    if (this.inUse > 0) return;
    for (const buffer of this.free) this.allocated -= buffer.length;
    this.free = [];
  }
}
