/**
 * JSON text as the archive writes and reads it. The archive must give back exactly the value
 * DialNexa served, whatever its strings hold, so two things differ from the obvious code:
 *
 * - Writing keeps `-0`: `JSON.stringify(-0)` is `"0"`, which parses back as a different number.
 *   Everything else JSON.stringify already round-trips: U+2028/U+2029 and U+0000 are written as
 *   they are or escaped, lone surrogates are escaped (`"\ud800"`), `__proto__` stays an own key.
 * - Reading NDJSON splits on `\n` (0x0A) only. `node:readline` also breaks lines at U+2028,
 *   U+2029 and `\r`, all of which JSON.stringify leaves unescaped inside strings.
 */

// JSON.rawJSON (ES2025, in Node 24) is not in the ES2024 lib this project compiles against.
const { rawJSON } = JSON as unknown as { rawJSON: (text: string) => unknown };
const NEGATIVE_ZERO = rawJSON('-0');

const keepNegativeZero = (_key: string, value: unknown): unknown =>
  value === 0 && Object.is(value, -0) ? NEGATIVE_ZERO : value;

/** JSON.stringify that round-trips every value JSON.parse can produce, `-0` included. */
export function jsonText(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, keepNegativeZero, indent);
  if (text === undefined) throw new TypeError('the value has no JSON text');
  return text;
}

/** One NDJSON record: its JSON text and the `\n` that ends it. */
export function ndjsonLine(record: unknown): string {
  return `${jsonText(record)}\n`;
}

const NEWLINE = 0x0a;

/**
 * The lines of an NDJSON byte stream, as the bytes between two `\n` (without it). Splitting bytes
 * rather than decoded text is safe: in UTF-8, 0x0A only ever encodes U+000A. A last line without
 * its `\n` is yielded too; empty lines are yielded as empty buffers for the caller to judge.
 */
export async function* ndjsonLines(chunks: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const raw of chunks) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE, start); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
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
  if (pending.length > 0) yield Buffer.concat(pending);
}
