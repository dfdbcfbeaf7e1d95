import type { ListPage } from './dialnexa.types.js';

/**
 * Fetches one page; must end (reject) soon after `signal` aborts. It resolves with a function that
 * parses the answer: a page waiting for its turn is kept as the text it came as, one string, not
 * as thousands of objects that the garbage collector would copy, and promote, while they wait.
 */
export type FetchPage = (page: number, signal: AbortSignal | undefined) => Promise<() => ListPage>;

export interface PagesAheadOptions {
  /** Pages requested ahead of the consumer at most: in flight or fetched and not yet yielded. */
  concurrency: number;
  /** The caller's signal (a lost lease, a shutdown): aborts every request in flight. */
  signal?: AbortSignal;
  /** Where to start (a resumed export); 1 unless given. */
  firstPage?: number;
}

/** Whether no page may follow this one. Without meta the one response is the whole list. */
export function isLastPage(page: ListPage): boolean {
  return page.meta === undefined || page.items.length === 0 || page.page >= page.meta.totalPages;
}

/** The reason the requests a consumer no longer wants are aborted with; never thrown to it. */
const NOT_NEEDED = new Error('page no longer needed: the consumer stopped');

type Outcome = { page: () => ListPage } | { error: unknown };

/**
 * Page 1 alone, then the pages after it requested up to `concurrency` ahead of the consumer,
 * yielded strictly in page order.
 *
 * - Page 1 is fetched before anything else: its `meta.totalPages` says how far to read ahead. The
 *   window opens only once the consumer asks for page 2, so a consumer that wanted one page sends
 *   one request.
 * - Back-pressure: while the consumer holds page n, at most pages n+1 … n+concurrency are
 *   requested or buffered; page n+concurrency+1 is requested only once page n+1 is taken.
 * - Live data: each page's own meta decides, as a sequential reader would, whether more follow
 *   (the list can grow or shrink while it is read); pages requested beyond the end are dropped.
 * - A failed page is thrown when its turn comes (the pages before it are yielded first), and no
 *   further page is requested once one failed.
 * - When the consumer stops (return, throw, or this generator's own failure), the requests in
 *   flight are aborted and awaited: once the generator is done, nothing more is sent.
 */
export async function* pagesAhead(
  fetchPage: FetchPage,
  options: PagesAheadOptions,
): AsyncGenerator<ListPage> {
  const start = Math.max(1, Math.floor(options.firstPage ?? 1));
  const first = (await fetchPage(start, options.signal))();
  yield first;
  if (isLastPage(first)) return;

  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const ahead = new Map<number, Promise<Outcome>>();
  let lastPage = first.meta?.totalPages ?? 1;
  let nextToRequest = start + 1;
  let failed = false;

  const request = (n: number): Promise<Outcome> => {
    const outcome = fetchPage(n, signal).then(
      (page): Outcome => ({ page }),
      (error: unknown): Outcome => {
        failed = true;
        return { error };
      },
    );
    ahead.set(n, outcome);
    return outcome;
  };
  const fill = (): void => {
    // each request's outcome is kept in `ahead` (it never rejects): awaited in turn, or in `finally`
    while (!failed && nextToRequest <= lastPage && ahead.size < concurrency) void request(nextToRequest++);
  };

  try {
    for (let n = start + 1; ; n++) {
      fill();
      const outcome = await (ahead.get(n) ?? request(n));
      ahead.delete(n);
      if ('error' in outcome) throw outcome.error;
      const page = outcome.page(); // parsed in turn: a malformed page throws here, in order
      if (isLastPage(page)) {
        stop.abort(NOT_NEEDED);
        yield page;
        return;
      }
      lastPage = page.meta?.totalPages ?? lastPage;
      // refilled before the page is handed over: the requests overlap with the consumer's work
      fill();
      yield page;
    }
  } finally {
    stop.abort(NOT_NEEDED);
    await Promise.allSettled(ahead.values());
  }
}
