import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { ListPage } from './dialnexa.types.js';
import { pagesAhead } from './pages-ahead.js';

function buildPage(page: number, overrides: Partial<ListPage> = {}, totalPages = 10): ListPage {
  return {
    items: [{ id: `wlead_${page}` }],
    meta: { page, limit: 100, total: totalPages * 100, totalPages },
    page,
    ...overrides,
  };
}

interface Pending {
  page: number;
  signal: AbortSignal | undefined;
  answer: (page?: ListPage) => void;
  fail: (error: Error) => void;
}

/**
 * A fetcher whose requests stay open until the test answers them; it records the most pages ever
 * buffered: answered, and not yet handed to the consumer.
 */
function buildFetcher(totalPages = 10) {
  const requested: number[] = [];
  const open = new Map<number, Pending>();
  const state = { buffered: 0, maxBuffered: 0 };
  const fetchPage = (page: number, signal: AbortSignal | undefined): Promise<() => ListPage> =>
    new Promise<() => ListPage>((resolve, reject) => {
      requested.push(page);
      const done = () => open.delete(page);
      signal?.addEventListener('abort', () => {
        done();
        reject(signal.reason as Error);
      });
      open.set(page, {
        page,
        signal,
        answer: (value = buildPage(page, {}, totalPages)) => {
          done();
          if (page > 1) state.maxBuffered = Math.max(state.maxBuffered, ++state.buffered);
          resolve(() => value);
        },
        fail: (error: Error) => {
          done();
          reject(error);
        },
      });
    });
  /** The consumer took a page: it is no longer buffered. */
  const taken = (page: ListPage) => {
    if (page.page > 1) state.buffered -= 1;
  };
  return { fetchPage, requested, open, state, taken };
}

/** Lets every pending promise callback run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe(pagesAhead.name, () => {
  it('yields the pages in page order whatever order they are answered in', async () => {
    const { fetchPage, open } = buildFetcher(5);
    const sut = pagesAhead(fetchPage, { concurrency: 4 });
    const first = sut.next();
    await flush();
    open.get(1)!.answer();
    await expect(first).resolves.toMatchObject({ value: { page: 1 } });

    const second = sut.next();
    await flush();
    expect([...open.keys()]).toEqual([2, 3, 4, 5]);
    for (const page of [5, 3, 4, 2]) open.get(page)!.answer();
    const pages = [(await second).value as ListPage];
    for await (const page of { [Symbol.asyncIterator]: () => sut }) pages.push(page);

    expect(pages.map((p) => p.page)).toEqual([2, 3, 4, 5]);
  });

  it('sends one request to a consumer that wants page 1 only', async () => {
    const { fetchPage, open, requested } = buildFetcher();
    const sut = pagesAhead(fetchPage, { concurrency: 4 });
    const first = sut.next();
    await flush();
    open.get(1)!.answer();
    await first;
    await sut.return(undefined);

    expect(requested).toEqual([1]);
  });

  it('requests at most `concurrency` pages ahead of the page the consumer holds', async () => {
    const { fetchPage, open, requested, state, taken } = buildFetcher(20);
    const sut = pagesAhead(fetchPage, { concurrency: 3 });
    const first = sut.next();
    await flush();
    open.get(1)!.answer();
    await first;

    const second = sut.next(); // opens the window
    await flush();
    expect(requested).toEqual([1, 2, 3, 4]);
    open.get(2)!.answer();
    taken((await second).value as ListPage);

    // a slow consumer: while it holds a page, every open request is answered; none runs further ahead
    for (let expected = 3; expected <= 20; expected++) {
      await flush();
      for (const pending of [...open.values()]) pending.answer();
      expect(Math.max(...requested)).toBeLessThanOrEqual(Math.min(20, expected - 1 + 3));
      const { value } = await sut.next();
      taken(value as ListPage);
      expect((value as ListPage).page).toBe(expected);
    }
    await expect(sut.next()).resolves.toMatchObject({ done: true });

    expect(requested).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(state.maxBuffered).toBe(3);
  });

  it('aborts the requests in flight when the consumer stops, and sends nothing more', async () => {
    const { fetchPage, open, requested } = buildFetcher(10);
    const sut = pagesAhead(fetchPage, { concurrency: 2 });
    const first = sut.next();
    await flush();
    open.get(1)!.answer();
    await first;
    const second = sut.next();
    await flush();
    const inFlight = [...open.values()];
    open.get(2)!.answer();
    await second;

    await expect(sut.return(undefined)).resolves.toMatchObject({ done: true });

    expect(inFlight.map((p) => p.page)).toEqual([2, 3]);
    expect(open.size).toBe(0); // page 3 (and page 4, requested when page 2 was handed over) aborted
    expect(requested).toEqual([1, 2, 3, 4]);
    await flush();
    expect(requested).toEqual([1, 2, 3, 4]);
  });

  it('throws a failed page once the pages before it are yielded, then requests nothing more', async () => {
    const { fetchPage, open, requested } = buildFetcher(10);
    const boom = new Error('HTTP 403');
    const sut = pagesAhead(fetchPage, { concurrency: 3 });
    const first = sut.next();
    await flush();
    open.get(1)!.answer();
    await first;
    const second = sut.next();
    await flush();
    open.get(3)!.fail(boom);
    open.get(2)!.answer();

    await expect(second).resolves.toMatchObject({ value: { page: 2 } });
    await expect(sut.next()).rejects.toBe(boom);
    expect(open.size).toBe(0);
    expect(requested).toEqual([1, 2, 3, 4]);
  });

  it('parses a page only when its turn comes: a malformed one fails after the pages before it', async () => {
    const malformed = new Error('is not valid JSON');
    const parsed: number[] = [];
    const fetchPage = (page: number): Promise<() => ListPage> =>
      Promise.resolve(() => {
        parsed.push(page);
        if (page === 3) throw malformed;
        return buildPage(page, {}, 5);
      });
    const yielded: number[] = [];
    const sut = pagesAhead(fetchPage, { concurrency: 4 });

    await expect(
      (async () => {
        for await (const page of sut) {
          expect(parsed).toEqual(Array.from({ length: page.page }, (_, i) => i + 1));
          yielded.push(page.page);
        }
      })(),
    ).rejects.toBe(malformed);
    expect(yielded).toEqual([1, 2]);
  });

  it("ends with the caller's own reason when its signal aborts", async () => {
    const { fetchPage, open } = buildFetcher(10);
    const controller = new AbortController();
    const reason = new Error('lease lost');
    const sut = pagesAhead(fetchPage, { concurrency: 2, signal: controller.signal });
    const first = sut.next();
    await flush();
    open.get(1)!.answer();
    await first;
    const second = sut.next();
    await flush();
    controller.abort(reason);

    await expect(second).rejects.toBe(reason);
    expect(open.size).toBe(0);
  });

  it('follows each page’s own meta: reads on when the list grew, stops where it shrank', async () => {
    const grows = buildFetcher(2);
    const sut = pagesAhead(grows.fetchPage, { concurrency: 4 });
    const pages: number[] = [];
    const consume = (async () => {
      for await (const page of sut) pages.push(page.page);
    })();
    await flush();
    grows.open.get(1)!.answer(buildPage(1, {}, 2));
    await flush();
    grows.open.get(2)!.answer(buildPage(2, {}, 3)); // a page more meanwhile
    await flush();
    grows.open.get(3)!.answer(buildPage(3, {}, 3));
    await consume;
    expect(pages).toEqual([1, 2, 3]);

    const shrinks = buildFetcher(6);
    const pagesOfShrunk: number[] = [];
    const consumeShrunk = (async () => {
      for await (const page of pagesAhead(shrinks.fetchPage, { concurrency: 4 }))
        pagesOfShrunk.push(page.page);
    })();
    await flush();
    shrinks.open.get(1)!.answer();
    await flush();
    shrinks.open.get(3)!.answer(buildPage(3, {}, 6));
    shrinks.open.get(2)!.answer(buildPage(2, {}, 2)); // the list lost pages: 2 is the last now
    await consumeShrunk;
    expect(pagesOfShrunk).toEqual([1, 2]);
    expect(shrinks.open.size).toBe(0);
  });

  it('stops at an empty page, and after page 1 when it has no meta', async () => {
    const { fetchPage, open } = buildFetcher(10);
    const pages: number[] = [];
    const consume = (async () => {
      for await (const page of pagesAhead(fetchPage, { concurrency: 3 })) pages.push(page.page);
    })();
    await flush();
    open.get(1)!.answer();
    await flush();
    open.get(3)!.answer();
    open.get(2)!.answer(buildPage(2, { items: [] }));
    await consume;
    expect(pages).toEqual([1, 2]);

    const alone = buildFetcher();
    const only = pagesAhead(alone.fetchPage, { concurrency: 3 });
    const first = only.next();
    await flush();
    alone.open.get(1)!.answer(buildPage(1, { meta: undefined }));
    await first;
    await expect(only.next()).resolves.toMatchObject({ done: true });
    expect(alone.requested).toEqual([1]);
  });

  it('yields every page once, in order, never more than `concurrency` ahead, whatever the answer order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 6 }),
        async (s, totalPages, concurrency) => {
          let taken = 0;
          let furthestAhead = 0;
          const fetchPage = (page: number): Promise<() => ListPage> => {
            // page `taken + 1` is the one being handed over (or awaited) when this request goes out
            if (page > 1) furthestAhead = Math.max(furthestAhead, page - (taken + 1));
            const answer = buildPage(page, {}, totalPages);
            return s.schedule(
              Promise.resolve(() => answer),
              `page ${page}`,
            );
          };
          const pages: number[] = [];
          const consume = (async () => {
            for await (const page of pagesAhead(fetchPage, { concurrency })) {
              taken = page.page;
              pages.push(page.page);
            }
          })();
          await s.waitFor(consume);
          expect(pages).toEqual(Array.from({ length: totalPages }, (_, i) => i + 1));
          expect(furthestAhead).toBeLessThanOrEqual(concurrency);
        },
      ),
      { numRuns: 200 },
    );
  });
});
