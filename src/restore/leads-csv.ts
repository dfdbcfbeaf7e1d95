import { jsonText } from '../common/json-text.js';
import type { JsonObject } from '../dialnexa/dialnexa.types.js';

/**
 * Archived leads (as DialNexa served them, in leads.ndjson.gz) as the CSV a lead upload takes:
 * `phone_number`, then one column per metadata key. The contract (service-contract.md,
 * "Restores") fixes the cells: a string as it is, any other value as its JSON text.
 *
 * Decisions where neither the contract nor DialNexa says:
 * - Columns: the union of the batch's metadata keys, in order of first appearance (the first
 *   lead's keys in its own order, then each new key as a later lead brings it). A lead without a
 *   key has an empty cell there.
 * - Quoting (RFC 4180): a cell is quoted when it holds `"`, `,`, CR, LF, U+2028 or U+2029 (which
 *   some readers split lines at), starts or ends with white space (which some readers trim), or is
 *   empty in the header. Rows end with CRLF. No byte-order mark, no spreadsheet-formula escaping:
 *   the file is read by DialNexa's importer, and an escape would change the value.
 * - A lone surrogate cannot be written in UTF-8: it becomes U+FFFD (as everywhere this service
 *   stores text) and the lead is listed in `altered`. In a `phone_number` the lead is rejected.
 * - An empty-string metadata value is an empty cell, which an importer reads as "no value": the
 *   lead comes back without that key, and is listed in `altered`. A JSON value (`null`, a number,
 *   an object) is never empty text.
 * - A metadata key `phone_number` would make a second phone column, an empty key a nameless one,
 *   and two keys equal once their lone surrogates are replaced one column: such a lead is rejected.
 * - `phone_number` must be E.164 (the upload refuses a whole file for one bad row): a lead without
 *   one is rejected. A lead whose `metadata` is neither an object nor absent/null is rejected.
 * Rejected leads are never in the file; nothing is dropped without being listed.
 */

export type LeadCsvRejection =
  | 'phone_number_not_e164'
  | 'metadata_not_an_object'
  | 'metadata_key_phone_number'
  | 'metadata_key_empty'
  | 'metadata_keys_collide'
  | 'row_too_large';

export type LeadCsvAlteration = 'lone_surrogate_replaced' | 'empty_value_dropped';

export interface LeadsCsv {
  csv: Uint8Array;
  /** The leads in the file, in row order (the upload's answer lists a phone's new ids in this order). */
  leads: JsonObject[];
  /** Not in the file, with why. */
  rejected: Array<{ lead: JsonObject; reason: LeadCsvRejection }>;
  /** In the file, but not exactly as archived (one entry per lead and reason). */
  altered: Array<{ lead: JsonObject; reason: LeadCsvAlteration }>;
}

export interface LeadCsvLimits {
  /** Data rows per file: DialNexa's inferred limit (dialnexa-api.md: more answers 413). */
  maxRows: number;
  /** Bytes per file, header included. A lead whose row alone does not fit is rejected. */
  maxBytes: number;
}

export const PHONE_COLUMN = 'phone_number';
export const DEFAULT_LEAD_CSV_LIMITS: LeadCsvLimits = { maxRows: 5_000, maxBytes: 8 * 1024 * 1024 };

const E164 = /^\+[1-9]\d{1,14}$/;
const NEEDS_QUOTES = /[",\r\n\u2028\u2029]|^\s|\s$/;
const CRLF = '\r\n';
const utf8 = new TextEncoder();

/** One lead, encoded: its cells by column name, their UTF-8 size, and what changed. */
interface EncodedLead {
  lead: JsonObject;
  cells: Map<string, string>;
  /** UTF-8 bytes of the row's cells (quoted), without separators. */
  bytes: number;
  altered: LeadCsvAlteration[];
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quote(text: string, header = false): string {
  if (NEEDS_QUOTES.test(text) || (header && text === '')) return `"${text.replaceAll('"', '""')}"`;
  return text;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The cell text of a metadata value: a string as it is, anything else its JSON text (as archived: -0 stays -0). */
function cellOf(value: unknown): string {
  // JSON text escapes lone surrogates (`"\ud83d"`), so only a bare string can hold one
  return typeof value === 'string' ? value : jsonText(value);
}

function encodeLead(lead: JsonObject): EncodedLead | LeadCsvRejection {
  const phone = lead[PHONE_COLUMN];
  if (typeof phone !== 'string' || !E164.test(phone)) return 'phone_number_not_e164';
  const metadata = lead.metadata ?? {};
  if (!isObject(metadata)) return 'metadata_not_an_object';
  const altered = new Set<LeadCsvAlteration>();
  const cells = new Map<string, string>([[PHONE_COLUMN, phone]]);
  let bytes = byteLength(phone);
  for (const [rawKey, value] of Object.entries(metadata)) {
    if (rawKey === '') return 'metadata_key_empty';
    if (rawKey === PHONE_COLUMN) return 'metadata_key_phone_number';
    const key = rawKey.toWellFormed();
    if (cells.has(key)) return 'metadata_keys_collide';
    let cell = cellOf(value);
    if (key !== rawKey || !cell.isWellFormed()) altered.add('lone_surrogate_replaced');
    cell = cell.toWellFormed();
    if (cell === '') altered.add('empty_value_dropped');
    cells.set(key, cell);
    bytes += byteLength(quote(cell));
  }
  return { lead, cells, bytes, altered: [...altered] };
}

/** A file being filled: its columns grow as leads bring new keys. */
class CsvFile {
  readonly rows: EncodedLead[] = [];
  readonly columns = new Map<string, number>([[PHONE_COLUMN, byteLength(PHONE_COLUMN)]]);
  private headerBytes = byteLength(PHONE_COLUMN);
  private cellBytes = 0;

  /** The file's size in bytes with `row` added. */
  sizeWith(row: EncodedLead): number {
    let columns = this.columns.size;
    let headerBytes = this.headerBytes;
    for (const key of row.cells.keys()) {
      if (this.columns.has(key)) continue;
      columns++;
      headerBytes += byteLength(quote(key, true));
    }
    return CsvFile.size(headerBytes, columns, this.cellBytes + row.bytes, this.rows.length + 1);
  }

  add(row: EncodedLead): void {
    for (const key of row.cells.keys()) {
      if (this.columns.has(key)) continue;
      const bytes = byteLength(quote(key, true));
      this.columns.set(key, bytes);
      this.headerBytes += bytes;
    }
    this.rows.push(row);
    this.cellBytes += row.bytes;
  }

  /** Every line has `columns - 1` commas and a CRLF. */
  static size(headerBytes: number, columns: number, cellBytes: number, rows: number): number {
    return headerBytes + cellBytes + (rows + 1) * (columns - 1 + CRLF.length);
  }

  toLeadsCsv(rejected: LeadsCsv['rejected']): LeadsCsv {
    return {
      csv: this.toBytes(),
      leads: this.rows.map((row) => row.lead),
      rejected,
      altered: this.rows.flatMap((row) => row.altered.map((reason) => ({ lead: row.lead, reason }))),
    };
  }

  private toBytes(): Uint8Array {
    const keys = [...this.columns.keys()];
    const lines = [keys.map((key) => quote(key, true)).join(',')];
    for (const row of this.rows) lines.push(keys.map((key) => quote(row.cells.get(key) ?? '')).join(','));
    return utf8.encode(lines.join(CRLF) + CRLF);
  }
}

/**
 * Cuts leads into CSV files of at most `limits.maxRows` rows and `limits.maxBytes` bytes, in
 * order: the same leads and limits always make the same files, so a resumed restore can name a
 * file by its number. Rejected and altered leads are reported with the file being filled when
 * they were met (a rejected lead in the last, possibly empty, file's lists).
 */
export function* leadCsvFiles(
  leads: Iterable<JsonObject>,
  limits: LeadCsvLimits = DEFAULT_LEAD_CSV_LIMITS,
): Generator<LeadsCsv> {
  if (!(limits.maxRows >= 1) || !(limits.maxBytes >= 1)) throw new RangeError('limits must be positive');
  let file = new CsvFile();
  let rejected: LeadsCsv['rejected'] = [];
  const finish = (): LeadsCsv => {
    const done = file.toLeadsCsv(rejected);
    file = new CsvFile();
    rejected = [];
    return done;
  };
  for (const lead of leads) {
    const row = encodeLead(lead);
    if (typeof row === 'string') {
      rejected.push({ lead, reason: row });
      continue;
    }
    if (new CsvFile().sizeWith(row) > limits.maxBytes) {
      rejected.push({ lead, reason: 'row_too_large' });
      continue;
    }
    if (file.rows.length >= limits.maxRows || file.sizeWith(row) > limits.maxBytes) yield finish();
    file.add(row);
  }
  if (file.rows.length > 0 || rejected.length > 0) yield finish();
}

/**
 * One batch as one file, for a caller that cuts batches itself (at most `maxRows` leads): a lead
 * that would take the file over `maxBytes` is rejected (`row_too_large`) rather than split off.
 */
export function leadsCsv(
  leads: readonly JsonObject[],
  maxBytes = DEFAULT_LEAD_CSV_LIMITS.maxBytes,
): LeadsCsv {
  const file = new CsvFile();
  const rejected: LeadsCsv['rejected'] = [];
  for (const lead of leads) {
    const row = encodeLead(lead);
    if (typeof row === 'string') rejected.push({ lead, reason: row });
    else if (file.sizeWith(row) > maxBytes) rejected.push({ lead, reason: 'row_too_large' });
    else file.add(row);
  }
  return file.toLeadsCsv(rejected);
}
