import type { Writable } from 'node:stream';
import { jsonText } from '../common/json-text.js';
import { LeadsDigest } from './leads-digest.js';

const NEWLINE = 0x0a;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units). */
const MAX_UTF8_PER_UNIT = 3;
/** 256 KiB: zlib's work per write outweighs its stream machinery (which runs on the main thread). */
const DEFAULT_BATCH_BYTES = 256 * 1024;
/** Batches handed to the output at once: the next is encoded while zlib compresses these. */
const BATCHES_IN_FLIGHT = 2;

/**
 * Writes NDJSON records as UTF-8 batches of about `batchBytes`: each line is encoded straight into
 * the batch (no Buffer per line), and gzip gets a few writes per thousand leads instead of one per
 * lead. `onLine` sees each line's bytes, its `\n` included, before the batch is handed on. A batch
 * given back with `recycle` once written is filled again, so batches are not garbage either.
 */
export class NdjsonEncoder {
  private batch: Buffer;
  private used = 0;
  private readonly free: Buffer[] = [];

  constructor(
    private readonly onLine: (line: Buffer) => void,
    private readonly batchBytes = DEFAULT_BATCH_BYTES,
  ) {
    this.batch = Buffer.allocUnsafeSlow(batchBytes);
  }

  /** A batch this encoder handed out, no longer read by anyone. */
  recycle(batch: Buffer): void {
    const whole = batch.buffer;
    if (whole.byteLength === this.batchBytes && this.free.length < BATCHES_IN_FLIGHT) {
      this.free.push(Buffer.from(whole, 0, whole.byteLength));
    }
  }

  /**
   * Adds one record (as `jsonText` writes it, -0 kept); returns a full batch when this filled one.
   * `canonical`, when given, is that text's UTF-8 bytes already (canonical-lines.ts): copied as
   * they are instead.
   */
  add(record: unknown, canonical?: Uint8Array | null): Buffer | null {
    if (canonical) return this.addBytes(canonical);
    const text = jsonText(record);
    const room = text.length * MAX_UTF8_PER_UNIT + 1;
    let full: Buffer | null = null;
    if (this.used + room > this.batch.length) full = this.take(room);
    const start = this.used;
    // JSON text holds no lone surrogate (JSON.stringify escapes them): UTF-8 encodes it losslessly
    const end = start + this.batch.write(text, start, 'utf8');
    this.batch[end] = NEWLINE;
    this.used = end + 1;
    this.onLine(this.batch.subarray(start, this.used));
    return full;
  }

  private addBytes(line: Uint8Array): Buffer | null {
    let full: Buffer | null = null;
    if (this.used + line.length + 1 > this.batch.length) full = this.take(line.length + 1);
    const start = this.used;
    this.batch.set(line, start);
    const end = start + line.length;
    this.batch[end] = NEWLINE;
    this.used = end + 1;
    this.onLine(this.batch.subarray(start, this.used));
    return full;
  }

  /** What is left once the records ended. */
  flush(): Buffer | null {
    return this.take(0);
  }

  /** The batch so far (never written again), and a fresh one with room for `room` bytes. */
  private take(room: number): Buffer | null {
    const out = this.used > 0 ? this.batch.subarray(0, this.used) : null;
    if (out !== null || room > this.batch.length) {
      // each batch owns its ArrayBuffer (allocUnsafeSlow): `recycle` gets the whole of it back
      this.batch =
        room <= this.batchBytes
          ? (this.free.pop() ?? Buffer.allocUnsafeSlow(this.batchBytes))
          : Buffer.allocUnsafeSlow(room);
      this.used = 0;
    }
    return out;
  }
}

/**
 * Writes `records` as NDJSON into `out` (a gzip stream), batch by batch, and ends it; resolves with
 * the number of records. `onLine` sees each line, `onCount` the count every 500 records and at the
 * end. Stops, with `out`'s error, once `out` was destroyed (its reader failed).
 */
export async function writeNdjson(
  records: AsyncIterable<unknown>,
  out: Writable,
  onLine: (line: Buffer) => void,
  onCount: (count: number) => void,
): Promise<number> {
  const encoder = new NdjsonEncoder(onLine);
  const writing: Promise<void>[] = [];
  const write = async (batch: Buffer): Promise<void> => {
    const written = new Promise<void>((resolve, reject) => {
      // called once the stream let go of the batch (zlib has read it all), or with an error
      out.write(batch, (error) => {
        if (error) {
          reject(error);
          return;
        }
        encoder.recycle(batch);
        resolve();
      });
    });
    written.catch(() => {}); // awaited below; rejected only when `out` failed, which ends the loop
    writing.push(written);
    if (writing.length >= BATCHES_IN_FLIGHT) await writing.shift();
  };
  let count = 0;
  for await (const record of records) {
    if (out.destroyed) break;
    count += 1;
    if (count % 500 === 0) onCount(count);
    const full = encoder.add(record);
    if (full) await write(full);
  }
  if (out.destroyed) throw out.errored ?? new Error('the NDJSON output was closed before the records ended');
  const rest = encoder.flush();
  if (rest) await write(rest);
  await Promise.all(writing);
  onCount(count);
  out.end();
  return count;
}

/**
 * How much of each NDJSON line a read-back looks at:
 * - `count`: only where lines end. Enough when the bytes are known to be the ones written, since
 *   their SHA-256 matched one recorded when they were written (the manifest's, or the one stored
 *   on the object): every line then is a JSON text the export wrote.
 * - `digest`: also the LeadsDigest of the lines (adopting an object whose SHA-256 matched).
 * - `parse`: also JSON.parse of every line: for an object nothing vouches for (a multipart upload
 *   adopted after a crash carries no SHA-256 of its own).
 */
export type NdjsonReading = 'count' | 'digest' | 'parse';

export interface NdjsonRead {
  /** Non-empty lines, split on `\n` only (never at U+2028, U+2029 or `\r`). */
  records: number;
  /** The LeadsDigest of the lines; empty in `count` mode. */
  leadsDigest: string;
}

/** Reads an NDJSON byte stream back. In `parse` mode a line that is not JSON throws. */
export async function readNdjson(stream: AsyncIterable<Buffer>, reading: NdjsonReading): Promise<NdjsonRead> {
  if (reading === 'count') return { records: await countLines(stream), leadsDigest: '' };
  const digest = new LeadsDigest();
  let records = 0;
  for await (const line of ndjsonLinesWithNewline(stream)) {
    if (line.length <= 1) continue; // an empty line is no record
    if (reading === 'parse') JSON.parse(line.toString('utf8', 0, line.length - 1));
    digest.addLine(line);
    records += 1;
  }
  return { records, leadsDigest: digest.hex() };
}

async function countLines(stream: AsyncIterable<Buffer>): Promise<number> {
  let records = 0;
  let lineBytes = 0; // of the line not yet ended, across chunks
  for await (const chunk of stream) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      if (lineBytes + end - start > 0) records += 1;
      lineBytes = 0;
      start = end + 1;
    }
    lineBytes += chunk.length - start;
  }
  return lineBytes > 0 ? records + 1 : records;
}

const NEWLINE_BYTES = Buffer.from([NEWLINE]);

/**
 * Each line with its `\n` (a last line without one gets it added, as the digest is defined on
 * lines that end with `\n`). A line inside one chunk is a view of it, not a copy.
 */
async function* ndjsonLinesWithNewline(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const chunk of stream) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end + 1);
      if (pending.length > 0) {
        pending.push(piece);
        yield Buffer.concat(pending);
        pending = [];
      } else {
        yield piece;
      }
      start = end + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) yield Buffer.concat([...pending, NEWLINE_BYTES]);
}

/** The records of an NDJSON byte stream, one parsed JSON object per non-empty line, in order. */
export async function* ndjsonRecords(stream: AsyncIterable<Buffer>): AsyncGenerator<unknown> {
  for await (const line of ndjsonLinesWithNewline(stream)) {
    if (line.length <= 1) continue;
    yield JSON.parse(line.toString('utf8', 0, line.length - 1));
  }
}
