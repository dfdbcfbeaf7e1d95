import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { canonicalJson } from './canonical-json.js';

/**
 * The hand-written canonical JSON that audit chains were hashed with before the RFC 8785 library
 * replaced it, kept as the oracle: the two must agree on every value a chain can hold.
 */
function formerCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number');
    if (value === undefined) return 'null';
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(formerCanonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${formerCanonicalJson(v)}`).join(',')}}`;
}

/** JSON as jsonb hands it back: well-formed text (any plane, so surrogate pairs), -0 included. */
const storableJson = fc.jsonValue({ maxDepth: 6 }).chain((base) =>
  fc.oneof(
    fc.constant(base),
    fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), {
      maxKeys: 8,
    }),
    fc.dictionary(
      fc.string({
        unit: fc.constantFrom('\uffff', '😀', 'é', 'a', 'Z', '_', '\u007f', '\u2028'),
        maxLength: 4,
      }),
      fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: 'grapheme' })),
      { maxKeys: 8 },
    ),
  ),
);

describe(canonicalJson.name, () => {
  it.each([
    [
      'keys sorted at every level, no white space',
      { b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } },
      '{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}',
    ],
    [
      'keys in UTF-16 code-unit order (RFC 8785 3.2.3)',
      { '\uffff': 1, '😀': 2, é: 3, a: 4, '': 5 },
      '{"":5,"a":4,"é":3,"😀":2,"\uffff":1}',
    ],
    [
      'numbers as ECMAScript prints them; -0 as 0',
      [-0, 1e21, 1e-7, 0.1 + 0.2, 5e-324, 100],
      '[0,1e+21,1e-7,0.30000000000000004,5e-324,100]',
    ],
    [
      'strings escaped minimally: controls, quote, backslash; U+2028 and non-ASCII as they are',
      ['\u0007\u001f"\\/\u2028é😀'],
      '["\\u0007\\u001f\\"\\\\/\u2028é😀"]',
    ],
    [
      'undefined members dropped, undefined array items null',
      { a: undefined, b: [undefined, 1] },
      '{"b":[null,1]}',
    ],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('keeps an own __proto__ key, as JSON.parse and jsonb give it', () => {
    const value = JSON.parse('{"a":2,"__proto__":{"b":1}}') as unknown;
    expect(canonicalJson(value)).toBe('{"__proto__":{"b":1},"a":2}');
  });

  it('gives the text of the former hand-written version for any JSON jsonb can store', () => {
    fc.assert(
      fc.property(storableJson, (value) => {
        expect(canonicalJson(value)).toBe(formerCanonicalJson(value));
      }),
      { numRuns: 2_000 },
    );
  });

  // RFC 8785 3.2.2.2: the former version escaped it (\ud800); jsonb refuses both forms and the
  // audit repository replaces lone surrogates before hashing, so no stored chain holds one.
  it('refuses a lone surrogate', () => {
    expect(() => canonicalJson({ text: 'a\ud800b' })).toThrow();
  });

  it('refuses a top-level value JSON cannot represent', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });

  it('refuses numbers JSON cannot carry', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow();
  });
});
