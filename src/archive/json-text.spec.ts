import fc from 'fast-check';
import { Readable } from 'node:stream';
import { jsonText, ndjsonLine, ndjsonLines } from './json-text.js';

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

/** Any JSON value, with strings of any UTF-16 code units (lone surrogates included). */
const anyJson = fc.jsonValue({ stringUnit: 'binary', maxDepth: 6 });

async function collect(chunks: Buffer[]): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of ndjsonLines(Readable.from(chunks))) lines.push(line.toString('utf8'));
  return lines;
}

describe('jsonText', () => {
  it('round-trips every JSON value, -0 and lone surrogates included', () => {
    fc.assert(
      fc.property(anyJson, (value) => sameJson(JSON.parse(jsonText(value)), value)),
      { numRuns: 500 },
    );
  });

  it('keeps -0, which JSON.stringify writes as 0', () => {
    expect(jsonText({ a: -0, b: [-0, 0, 1e21, 1.5e-7] })).toBe('{"a":-0,"b":[-0,0,1e+21,1.5e-7]}');
    expect(Object.is((JSON.parse(jsonText([-0])) as number[])[0], -0)).toBe(true);
  });

  it('keeps __proto__, constructor and the empty key as own keys', () => {
    const value = JSON.parse('{"__proto__":{"x":1},"constructor":"c","":0}') as Record<string, unknown>;
    const back = JSON.parse(jsonText(value)) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(['__proto__', 'constructor', '']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(sameJson(back, value)).toBe(true);
  });

  it('escapes lone surrogates and keeps U+2028, U+2029 and U+0000 intact', () => {
    const value = { s: '\ud800 \u2028\u2029\u0000 \udc00x' };
    const text = jsonText(value);
    expect(text).toContain('\\ud800');
    expect(text).toContain('\\udc00');
    expect(JSON.parse(text)).toEqual(value);
  });

  it('indents when asked', () => {
    expect(jsonText({ a: -0 }, 2)).toBe('{\n  "a": -0\n}');
  });
});

describe('ndjsonLines', () => {
  it('splits on \\n only, never at U+2028, U+2029 or \\r', async () => {
    const records = [{ a: 'x\u2028y' }, { b: 'p\u2029q\rr' }, { c: '\u0085' }];
    const bytes = Buffer.from(records.map(ndjsonLine).join(''), 'utf8');
    const lines = await collect([bytes]);
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(records);
  });

  it('gives back every record however the bytes are cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.dictionary(fc.string({ unit: 'binary' }), anyJson), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (records, cuts) => {
          const bytes = Buffer.from(records.map(ndjsonLine).join(''), 'utf8');
          // cut anywhere, also inside a multi-byte UTF-8 sequence
          const points = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort(
            (a, b) => a - b,
          );
          const chunks: Buffer[] = [];
          let start = 0;
          for (const point of points) {
            chunks.push(bytes.subarray(start, point));
            start = point;
          }
          chunks.push(bytes.subarray(start));
          const lines = await collect(chunks);
          return (
            lines.length === records.length &&
            lines.every((line, i) => sameJson(JSON.parse(line), JSON.parse(jsonText(records[i]))))
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('yields a last line without its \\n', async () => {
    await expect(collect([Buffer.from('{"a":1}\n{"b":2}')])).resolves.toEqual(['{"a":1}', '{"b":2}']);
  });
});
