import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { jsonText } from '../common/json-text.js';
import { LeadsDigest } from './leads-digest.js';
import { Writable } from 'node:stream';
import { NdjsonEncoder, readNdjson, writeNdjson } from './ndjson.js';

/** Structural equality that tells -0 from 0 and keeps own `__proto__` keys (as JSON.parse makes them). */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every(
    (key, i) =>
      keysB[i] === key && sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

/** Records as leads look: objects of any JSON, strings of any UTF-16 code units. */
const anyRecord = fc.dictionary(
  fc.string({ unit: 'binary' }),
  fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 }),
);

const HOSTILE = JSON.parse(
  String.raw`{"ls":"a\u2028b\u2029c","nul":"x\u0000y","lone":["\ud800","\udfff","z\ud83d"],"cr":"a\rb\u0085",` +
    String.raw`"__proto__":{"polluted":true},"":"empty key","neg":-0,"exp":[1e21,1.5e-7,-2E-308]}`,
) as Record<string, unknown>;

/** Every batch and line an encoder gives out for `records`; each line also goes into `digest`. */
function encode(
  records: unknown[],
  batchBytes?: number,
  digest?: LeadsDigest,
  canonical: Array<Uint8Array | null> = [],
): { bytes: Buffer; batches: Buffer[]; lines: string[] } {
  const lines: string[] = [];
  const sut = new NdjsonEncoder((line) => {
    lines.push(line.toString('utf8'));
    digest?.addLine(line);
  }, batchBytes);
  const batches: Buffer[] = [];
  for (const [i, record] of records.entries()) {
    const full = sut.add(record, canonical[i]);
    if (full) batches.push(Buffer.from(full)); // copied: the test also checks nothing is rewritten
  }
  const rest = sut.flush();
  if (rest) batches.push(rest);
  return { bytes: Buffer.concat(batches), batches, lines };
}

/** `bytes` cut at the given offsets, also inside a multi-byte UTF-8 sequence. */
function cutAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

async function* chunksOf(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const chunk of chunks) yield chunk;
}

describe(NdjsonEncoder.name, () => {
  it('writes one line per record, as jsonText writes it, that parses back to exactly the record', () => {
    fc.assert(
      fc.property(
        fc.array(anyRecord, { maxLength: 30 }),
        fc.integer({ min: 1, max: 300 }),
        (records, batch) => {
          const { bytes, lines } = encode(records, batch);
          expect(bytes.toString('utf8')).toBe(records.map((r) => `${jsonText(r)}\n`).join(''));
          expect(lines).toEqual(records.map((r) => `${jsonText(r)}\n`));
          const back = bytes
            .toString('utf8')
            .split('\n')
            .slice(0, -1)
            .map((line) => JSON.parse(line) as unknown);
          expect(back.every((value, i) => sameJson(value, records[i]))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("writes the same bytes and lines from a record's canonical bytes as from the record", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(anyRecord, fc.boolean()), { maxLength: 30 }),
        fc.integer({ min: 1, max: 300 }),
        (pairs, batch) => {
          const records = pairs.map(([record]) => record);
          // a poisoned record beside its bytes: the bytes, not the record, must be written
          const given = pairs.map(([record, take]) => (take ? Buffer.from(jsonText(record), 'utf8') : null));
          const poisoned = records.map((record, i) => (given[i] ? { poisoned: true } : record));
          const fromRecords = encode(records, batch);
          const fromBytes = encode(poisoned, batch, undefined, given);
          // (batches may be cut elsewhere: a record's text reserves room for its worst-case UTF-8)
          expect(fromBytes.lines).toEqual(fromRecords.lines);
          expect(fromBytes.bytes.equals(fromRecords.bytes)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps U+2028, lone surrogates, NUL, -0 and __proto__ in the bytes, on one line each', () => {
    const { bytes } = encode([HOSTILE, { id: 'b', v: -0 }]);
    const lines = bytes.toString('utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(sameJson(JSON.parse(lines[0]!), HOSTILE)).toBe(true);
    expect(Object.is((JSON.parse(lines[1]!) as { v: number }).v, -0)).toBe(true);
  });

  it('hands out batches of about the batch size, a record larger than one in a batch of its own', () => {
    const small = Array.from({ length: 200 }, (_, i) => ({ id: `wlead_${i}`, n: 'x'.repeat(50) }));
    const big = { id: 'big', transcript: '\u{1F4DE}'.repeat(5_000) };
    const { batches } = encode([...small, big, ...small], 4096);
    expect(batches.length).toBeGreaterThan(4);
    expect(batches.every((b) => b.length <= 4096 || b.toString('utf8').includes('"big"'))).toBe(true);
    expect(batches.every((b) => b[b.length - 1] === 0x0a)).toBe(true);
  });
});

describe(readNdjson.name, () => {
  it('splits on \\n only, never at U+2028, U+2029 or \\r', async () => {
    const { bytes } = encode([{ a: 'x\u2028y' }, { b: 'p\u2029q\rr' }, { c: '\u0085' }]);
    await expect(readNdjson(chunksOf([bytes]), 'parse')).resolves.toMatchObject({ records: 3 });
    await expect(readNdjson(chunksOf([bytes]), 'count')).resolves.toEqual({ records: 3, leadsDigest: '' });
  });

  it('counts, digests and parses the same records however the bytes are cut, with the digest written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyRecord, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (records, cuts) => {
          const digest = new LeadsDigest();
          const { bytes } = encode(records, 64, digest);
          const chunks = cutAt(bytes, cuts);
          const counted = await readNdjson(chunksOf(chunks), 'count');
          const digested = await readNdjson(chunksOf(chunks), 'digest');
          const parsed = await readNdjson(chunksOf(chunks), 'parse');
          expect(counted.records).toBe(records.length);
          expect(digested).toEqual({ records: records.length, leadsDigest: digest.hex() });
          expect(parsed).toEqual(digested);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts a last line without its \\n, and no empty line', async () => {
    const bytes = Buffer.from('{"a":1}\n\n{"b":2}');
    await expect(readNdjson(chunksOf([bytes]), 'count')).resolves.toMatchObject({ records: 2 });
    const parsed = await readNdjson(chunksOf(cutAt(bytes, [3, 8, 9])), 'parse');
    const complete = await readNdjson(chunksOf([Buffer.from('{"a":1}\n{"b":2}\n')]), 'digest');
    expect(parsed).toEqual(complete);
  });

  it('refuses a line that is not JSON when parsing, and only then', async () => {
    const bytes = Buffer.from('{"a":1}\n{"b":\n');
    await expect(readNdjson(chunksOf([bytes]), 'parse')).rejects.toBeInstanceOf(SyntaxError);
    await expect(readNdjson(chunksOf([bytes]), 'digest')).resolves.toMatchObject({ records: 2 });
  });
});

describe(writeNdjson.name, () => {
  /** A slow-ish sink that keeps a copy of every chunk and notes which memory each came in. */
  function buildSink(failAfter = Infinity) {
    const copies: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (copies.length >= failAfter) {
          callback(new Error('store gone'));
          return;
        }
        copies.push(Buffer.from(chunk));
        memory.add(chunk.buffer);
        setImmediate(callback);
      },
    });
    return { sink, copies, memory };
  }

  async function* recordsOf(count: number, pulled: { n: number } = { n: 0 }) {
    for (let i = 0; i < count; i++) {
      pulled.n += 1;
      yield { id: `wlead_${i}`, notes: HOSTILE, pad: 'x'.repeat(i % 300) };
    }
  }

  it('writes every record in order, counts them, and ends the output; batches are refilled, not reallocated', async () => {
    const { sink, copies, memory } = buildSink();
    const lines: string[] = [];
    const counts: number[] = [];
    const ended = new Promise((resolve) => sink.on('finish', resolve));

    const written = await writeNdjson(
      recordsOf(5_000),
      sink,
      (l) => lines.push(l.toString('utf8')),
      (n) => counts.push(n),
    );
    await ended;

    expect(written).toBe(5_000);
    const text = Buffer.concat(copies).toString('utf8');
    expect(
      text
        .split('\n')
        .slice(0, -1)
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(Array.from({ length: 5_000 }, (_, i) => `wlead_${i}`));
    expect(lines.join('')).toBe(text);
    expect(counts).toEqual([...Array.from({ length: 10 }, (_, i) => (i + 1) * 500), 5_000]);
    expect(copies.length).toBeGreaterThan(5);
    expect(memory.size).toBeLessThanOrEqual(3);
  });

  it("stops with the output's error once its reader failed, reading no further record", async () => {
    const { sink } = buildSink(1);
    sink.on('error', () => {}); // the error is the writer's to report
    const pulled = { n: 0 };

    await expect(
      writeNdjson(
        recordsOf(100_000, pulled),
        sink,
        () => {},
        () => {},
      ),
    ).rejects.toThrow('store gone');
    expect(pulled.n).toBeLessThan(100_000);
  });
});
