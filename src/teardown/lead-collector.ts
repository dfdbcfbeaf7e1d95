import { DomainError } from '../common/domain-error.js';
import type { JsonObject } from '../common/json.js';
import { canonicalElements } from '../archive/canonical-lines.js';
import type { OpenLeads } from '../archive/resumable-leads-writer.js';
import { type IdSet, LeadIdSet } from './lead-id-set.js';

export interface LeadPage {
  items: JsonObject[];
  meta: { total: number } | undefined;
  /** The page number; pages are read in order. */
  page?: number;
  /** The body as served and the keys leading to the items' array in it (see ListPage). */
  raw?: { body: Uint8Array; itemsPath: readonly string[] };
}

/** The leads of one page not listed before, and the page's number. */
export interface DistinctLeadPage {
  page: number;
  leads: JsonObject[];
  /**
   * Beside each lead, when the page's body had it in that form: its bytes as the archive writes
   * it (`jsonText`, see canonical-lines.ts), or null. Absent when no lead's bytes were taken.
   */
  lines?: Array<Uint8Array | null>;
}

/**
 * Turns DialNexa's page-based lead listing into a stream of distinct leads. Pages over live data
 * can repeat a lead (dropped here, by id) or skip one (caught by comparing the count with the
 * `meta.total` DialNexa reported): an incomplete listing throws, which aborts the upload before
 * any manifest is written.
 *
 * The ids seen are kept as fingerprints (LeadIdSet), in flat memory; a fingerprint collision
 * leaves a distinct lead out, which the same count check turns into a retryable failure.
 */
export class LeadCollector {
  private reportedTotal: number | null = null;
  duplicates = 0;

  constructor(
    private readonly pages: AsyncIterable<LeadPage>,
    private readonly seen: IdSet = new LeadIdSet(),
  ) {}

  get totalReported(): number | null {
    return this.reportedTotal;
  }

  get count(): number {
    return this.seen.size;
  }

  /** Each distinct lead (serialised again by its reader: the page's bytes are not scanned). */
  async *leads(): AsyncGenerator<JsonObject> {
    for await (const page of this.distinctPages(false)) yield* page.leads;
  }

  /**
   * The same, a page at a time: what a resumable export needs to end its parts at page boundaries.
   * The count check runs after the last page, on every lead seen (those a restored set holds too).
   * `withLines`: each lead's bytes from the page's body, where it has them (see `lines`).
   */
  async *distinctPages(withLines = true): AsyncGenerator<DistinctLeadPage> {
    let number = 0;
    for await (const page of this.pages) {
      number = page.page ?? number + 1;
      const leads: JsonObject[] = [];
      const canonical = withLines ? canonicalLines(page) : null;
      const lines: Array<Uint8Array | null> | undefined = canonical ? [] : undefined;
      if (page.meta) {
        if (this.reportedTotal === null) this.seen.reserve(page.meta.total);
        this.reportedTotal = page.meta.total;
      }
      for (const [index, lead] of page.items.entries()) {
        const id = typeof lead['id'] === 'string' ? lead['id'] : null;
        if (id === null) {
          throw new DomainError('UPSTREAM_BAD_RESPONSE', 'DialNexa listed a lead without an id', {
            retryable: false,
          });
        }
        if (!this.seen.add(id)) {
          this.duplicates += 1;
          continue;
        }
        leads.push(lead);
        lines?.push(canonical![index]!);
      }
      yield lines ? { page: number, leads, lines } : { page: number, leads };
    }
    if (this.reportedTotal !== null && this.seen.size < this.reportedTotal) {
      throw new DomainError(
        'ARCHIVE_INCOMPLETE',
        `listed ${this.seen.size} distinct leads but DialNexa reports ${this.reportedTotal}: leads moved while being listed`,
        { retryable: true, details: { listed: this.seen.size, reported: this.reportedTotal } },
      );
    }
  }
}

/** The archive's bytes of each item of the page, where its body has them (else null), in order. */
function canonicalLines(page: LeadPage): Array<Uint8Array | null> | null {
  if (!page.raw) return null;
  const lines = canonicalElements(page.raw.body, page.raw.itemsPath);
  // what JSON.parse made of the body decides: bytes that do not line up with its items are unused
  return lines !== null && lines.length === page.items.length ? lines : null;
}

/**
 * The export's leads as a resumable export reads them: listed from `firstPage` (page 1, or the
 * page after the parts an earlier attempt recorded), de-duplicated against a set rebuilt from the
 * fingerprints those parts recorded, and journaling the fingerprints of each new part. `opened`
 * receives the collector of each listing (its total and duplicates); `wrap` guards the pages.
 */
export function resumableLeads(
  list: (firstPage: number) => AsyncIterable<LeadPage>,
  opened: (collector: LeadCollector) => void,
  wrap: (pages: AsyncIterable<DistinctLeadPage>) => AsyncIterable<DistinctLeadPage> = (pages) => pages,
): OpenLeads {
  return ({ firstPage, seeds, fingerprints }) => {
    const seen = new LeadIdSet(seeds ?? undefined);
    for (const part of fingerprints) seen.restore(part);
    seen.journal();
    const collector = new LeadCollector(list(firstPage), seen);
    opened(collector);
    return {
      pages: wrap(collector.distinctPages()),
      seeds: seen.seeds,
      takeFingerprints: () => seen.takeAdded(),
      totalReported: () => collector.totalReported,
    };
  };
}
