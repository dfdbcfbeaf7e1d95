import { afterEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { PartBufferPool } from './part-buffer-pool.js';

const KiB = 1024;

/** Lets every pending promise callback run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  jest.useRealTimers();
});

describe(PartBufferPool.name, () => {
  it('hands out buffers of the asked size until the budget is spent, then makes the next wait', async () => {
    const sut = new PartBufferPool(3 * KiB);
    const buffers = await Promise.all([sut.acquire(KiB), sut.acquire(KiB), sut.acquire(KiB)]);
    expect(buffers.map((b) => b.length)).toEqual([KiB, KiB, KiB]);
    let granted: Buffer | null = null;
    void sut.acquire(KiB).then((b) => (granted = b));
    await flush();
    expect(granted).toBeNull();
    expect(sut.bytesInUse).toBe(3 * KiB);

    sut.release(buffers[1]);
    await flush();
    expect(granted).toBe(buffers[1]); // reused, not a fresh allocation
    expect(sut.bytesAllocated).toBe(3 * KiB);
  });

  it('serves waiting uploads first come, first served', async () => {
    const sut = new PartBufferPool(2 * KiB);
    const held = [await sut.acquire(KiB), await sut.acquire(KiB)];
    const order: string[] = [];
    const big = sut.acquire(2 * KiB).then((b) => {
      order.push('big');
      return b;
    });
    const small = sut.acquire(KiB).then(() => order.push('small'));
    sut.release(held[0]!);
    await flush();
    expect(order).toEqual([]); // the first waiter needs both: the second does not overtake it
    sut.release(held[1]!);
    sut.release(await big);
    await small;
    expect(order).toEqual(['big', 'small']);
  });

  it("stops waiting with the signal's reason, and the waiters after it are still served", async () => {
    const sut = new PartBufferPool(KiB);
    const held = await sut.acquire(KiB);
    const controller = new AbortController();
    const reason = new Error('lease lost');
    const aborted = sut.acquire(KiB, controller.signal);
    const next = sut.acquire(KiB);
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    sut.release(held);
    await expect(next).resolves.toBe(held);
    await expect(sut.acquire(KiB, controller.signal)).rejects.toBe(reason);
  });

  it('refuses a part larger than the whole budget', async () => {
    await expect(new PartBufferPool(KiB).acquire(2 * KiB)).rejects.toBeInstanceOf(RangeError);
  });

  it('gives free buffers of another size way, and every buffer back once idle', async () => {
    jest.useFakeTimers();
    const sut = new PartBufferPool(2 * KiB);
    sut.release(await sut.acquire(KiB));
    sut.release(await sut.acquire(KiB / 2));
    expect(sut.bytesAllocated).toBe(KiB + KiB / 2);
    const whole = await sut.acquire(2 * KiB);
    expect(sut.bytesAllocated).toBe(2 * KiB);
    sut.release(whole);
    jest.advanceTimersByTime(5_000);
    expect(sut.bytesAllocated).toBe(0);
  });

  it('never has more in use than its budget, however uploads interleave', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }), {
          minLength: 2,
          maxLength: 4,
        }),
        async (s, uploads) => {
          const sut = new PartBufferPool(5 * KiB);
          let inUse = 0;
          let most = 0;
          // each upload acquires its parts in turn; a part is released once "sent" (when scheduled)
          const run = async (parts: number[]) => {
            const sent: Promise<void>[] = [];
            for (const kib of parts) {
              const buffer = await sut.acquire(kib * KiB);
              inUse += buffer.length;
              most = Math.max(most, inUse);
              sent.push(
                s.schedule(Promise.resolve(), `send ${kib} KiB`).then(() => {
                  inUse -= buffer.length;
                  sut.release(buffer);
                }),
              );
            }
            await Promise.all(sent);
          };
          await s.waitFor(Promise.all(uploads.map(run)));
          expect(most).toBeLessThanOrEqual(5 * KiB);
          expect(sut.peakBytesInUse).toBe(most);
          expect(sut.bytesInUse).toBe(0);
          expect(sut.bytesAllocated).toBeLessThanOrEqual(5 * KiB);
        },
      ),
      { numRuns: 200 },
    );
  });
});
