/**
 * `POST /v1/workflows/{id}/leads` up to the rows it enrols: the multipart body (one `file` field),
 * the file (CSV only: the simulator does not read XLSX/XLS), and the CSV's rows. Where
 * dialnexa-api.md is silent the simulator infers, and the README's simulator section says so:
 * - more than MAX_UPLOAD_BYTES of body, or more than MAX_UPLOAD_ROWS rows: 413;
 * - a header without `phone_number`, an empty or repeated column name, a row whose field count
 *   differs from the header's, a `phone_number` that is not E.164, or no row at all: 400, with
 *   one message per problem (NestJS style), rows numbered from 1 after the header;
 * - every other column becomes metadata, its cell as text; an empty cell sets no key.
 */
import { CsvError, decodeUtf8, parseCsv } from './csv.ts';

export const MAX_UPLOAD_ROWS = 5_000;
export const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;
/** How many row problems a 400 lists before it stops. */
const MAX_MESSAGES = 20;
const E164 = /^\+[1-9]\d{1,14}$/;

export interface UploadRow {
  phone: string;
  metadata: Record<string, string>;
}

export type UploadParse = { rows: UploadRow[] } | { status: 400 | 413; message: string | string[] };

interface UploadedFile {
  name: string;
  type: string;
  bytes: Uint8Array;
}

/** The `file` field of a multipart body, as multer (NestJS's FileInterceptor) would see it. */
export async function uploadedFile(
  body: Buffer,
  contentType: string | undefined,
): Promise<UploadedFile | { status: 400; message: string }> {
  if (contentType === undefined || !/^multipart\/form-data\s*;/i.test(contentType)) {
    return { status: 400, message: 'Multipart: Boundary not found' };
  }
  let form: FormData;
  try {
    form = await new Request('http://simulator.invalid/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: new Uint8Array(body),
    }).formData();
  } catch {
    return { status: 400, message: 'Multipart: Malformed part header' };
  }
  const files = form.getAll('file');
  for (const key of form.keys()) {
    if (key !== 'file') return { status: 400, message: 'Unexpected field' };
  }
  if (files.length > 1) return { status: 400, message: 'Unexpected field' };
  const file = files[0];
  if (file === undefined || typeof file === 'string') return { status: 400, message: 'File is required' };
  return { name: file.name, type: file.type, bytes: new Uint8Array(await file.arrayBuffer()) };
}

function isCsv(file: UploadedFile): boolean {
  return /\.csv$/i.test(file.name) || /^text\/csv\b/i.test(file.type);
}

/** The rows of an uploaded file, or the answer that refuses it. */
export function uploadRows(file: UploadedFile): UploadParse {
  if (!isCsv(file)) {
    return {
      status: 400,
      message: 'Unsupported file: this simulator reads CSV files only (not XLSX or XLS)',
    };
  }
  let records: string[][];
  try {
    records = parseCsv(decodeUtf8(file.bytes));
  } catch (error) {
    if (error instanceof CsvError) return { status: 400, message: [error.message] };
    throw error;
  }
  const [header, ...data] = records;
  if (header === undefined) return { status: 400, message: ['File is empty'] };
  if (data.length > MAX_UPLOAD_ROWS) {
    return { status: 413, message: `File has ${data.length} rows; at most ${MAX_UPLOAD_ROWS} are accepted` };
  }
  const problems = headerProblems(header);
  if (problems.length > 0) return { status: 400, message: problems };
  if (data.length === 0) return { status: 400, message: ['File contains no leads'] };
  const phoneAt = header.indexOf('phone_number');
  const rows: UploadRow[] = [];
  const rowProblems: string[] = [];
  data.forEach((fields, index) => {
    const row = index + 1;
    if (fields.length !== header.length) {
      rowProblems.push(`Row ${row} has ${fields.length} fields; the header has ${header.length}`);
      return;
    }
    const phone = fields[phoneAt]!;
    if (!E164.test(phone)) {
      rowProblems.push(`Row ${row}: phone_number must be a valid phone number in E.164 format`);
      return;
    }
    // defined, not assigned: a column `__proto__` is a key like any other
    const metadata = Object.fromEntries(
      header.flatMap((name, at) => (at === phoneAt || fields[at] === '' ? [] : [[name, fields[at]!]])),
    ) as Record<string, string>;
    rows.push({ phone, metadata });
  });
  if (rowProblems.length > 0) {
    const shown = rowProblems.slice(0, MAX_MESSAGES);
    if (rowProblems.length > MAX_MESSAGES) shown.push(`and ${rowProblems.length - MAX_MESSAGES} more rows`);
    return { status: 400, message: shown };
  }
  return { rows };
}

function headerProblems(header: string[]): string[] {
  const problems: string[] = [];
  if (!header.includes('phone_number')) problems.push('File must have a phone_number column');
  if (header.some((name) => name === '')) problems.push('Every column must have a name');
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name) && name !== '') problems.push(`Column ${name} appears more than once`);
    seen.add(name);
  }
  return problems;
}
