import type { JsonObject } from '../common/json.js';

/** DialNexa's inferred limit per uploaded file (dialnexa-api.md: larger files answer 413). */
export const MAX_LEADS_PER_FILE = 5_000;

/**
 * Encodes archived leads as one CSV file (`phone_number`, then their metadata): the leads-csv
 * encoder. A lead that cannot be encoded is returned in `rejected`, never dropped silently.
 */
export type LeadsCsvEncoder = (leads: readonly JsonObject[]) => {
  csv: Uint8Array;
  /** `row_too_large`: the lead does not fit in what is left of the file's byte bound. */
  rejected: { lead: JsonObject; reason: string }[];
  /** Leads in the file, but not exactly as archived (a lone surrogate replaced, an empty value dropped). */
  altered?: { lead: JsonObject; reason: string }[];
};

/** The provider token of the LeadsCsvEncoder the runner uses. */
export const LEADS_CSV_ENCODER = Symbol('LEADS_CSV_ENCODER');

export interface LeadRow {
  oldId: string;
  phone: string;
}

/** One upload: the file's number, its leads in file order, and the CSV. */
export interface LeadFile {
  seq: number;
  rows: LeadRow[];
  csv: Uint8Array;
}

export interface LeadsTally {
  archived: number;
  excluded: { total: number; byStatus: Record<string, number> };
  unencodable: { count: number; leadIds: string[] };
  /** Leads uploaded with metadata not exactly as archived, counted by reason. */
  altered: { count: number; byReason: Record<string, number> };
  uploaded: number;
  files: number;
}

/** The encoder's reason for a lead that does not fit in the file's byte bound (leads-csv.ts). */
const TOO_LARGE = 'row_too_large';

/** How many unencodable lead ids a restore names (the count is always exact). */
const MAX_NAMED_UNENCODABLE = 100;

/**
 * Cuts the archived leads into the files a restore uploads: the leads in archive order, minus
 * those with an excluded status, in files of at most MAX_LEADS_PER_FILE. The cut depends only on
 * the archive and the exclusions, so a resumed restore makes exactly the same files: file `n` is
 * the same leads on every run, which is what lets the intent log name a file by its number.
 */
export async function* leadFiles(
  leads: AsyncIterable<JsonObject>,
  excludeStatuses: readonly string[],
  encode: LeadsCsvEncoder,
  tally: LeadsTally = emptyLeadsTally(),
): AsyncGenerator<LeadFile> {
  const excluded = new Set(excludeStatuses);
  let batch: JsonObject[] = [];
  /**
   * Encodes the batch as one file. Leads the encoder left out only because the file was full
   * (`row_too_large` in a file that holds others) open the next batch instead of being reported.
   */
  const flush = (): LeadFile | null => {
    if (batch.length === 0) return null;
    const { csv, rejected, altered = [] } = encode(batch);
    const refused = new Set(rejected.map((r) => r.lead));
    const fits = batch.length > rejected.length;
    const carried = fits ? rejected.filter((r) => r.reason === TOO_LARGE).map((r) => r.lead) : [];
    for (const { lead, reason } of rejected) {
      if (fits && reason === TOO_LARGE) continue;
      tally.unencodable.count += 1;
      if (tally.unencodable.leadIds.length < MAX_NAMED_UNENCODABLE)
        tally.unencodable.leadIds.push(idOf(lead));
    }
    const rows = batch
      .filter((lead) => !refused.has(lead))
      .map((lead) => ({ oldId: idOf(lead), phone: phoneOf(lead) }));
    const carriedSet = new Set(carried);
    const alteredLeads = new Set<JsonObject>();
    for (const { lead, reason } of altered) {
      if (carriedSet.has(lead)) continue; // counted with the file it goes into
      alteredLeads.add(lead);
      tally.altered.byReason[reason] = (tally.altered.byReason[reason] ?? 0) + 1;
    }
    tally.altered.count += alteredLeads.size;
    batch = carried;
    if (rows.length === 0) return null;
    tally.uploaded += rows.length;
    const file = { seq: tally.files, rows, csv };
    tally.files += 1;
    return file;
  };
  for await (const lead of leads) {
    tally.archived += 1;
    const status = typeof lead['status'] === 'string' ? lead['status'] : '';
    if (excluded.has(status)) {
      tally.excluded.total += 1;
      tally.excluded.byStatus[status] = (tally.excluded.byStatus[status] ?? 0) + 1;
      continue;
    }
    batch.push(lead);
    if (batch.length >= MAX_LEADS_PER_FILE) {
      const file = flush();
      if (file) yield file;
    }
  }
  while (batch.length > 0) {
    const file = flush();
    if (file) yield file;
  }
}

export function emptyLeadsTally(): LeadsTally {
  return {
    archived: 0,
    excluded: { total: 0, byStatus: {} },
    unencodable: { count: 0, leadIds: [] },
    altered: { count: 0, byReason: {} },
    uploaded: 0,
    files: 0,
  };
}

function idOf(lead: JsonObject): string {
  return typeof lead['id'] === 'string' ? lead['id'] : '';
}

function phoneOf(lead: JsonObject): string {
  return typeof lead['phone_number'] === 'string' ? lead['phone_number'] : '';
}
