import fc from 'fast-check';
import { jsonText } from './json-text.js';

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

const { rawJSON } = JSON as unknown as { rawJSON: (text: string) => unknown };

describe('jsonText', () => {
  it('round-trips every JSON value, -0 and lone surrogates included', () => {
    fc.assert(
      fc.property(anyJson, (value) => sameJson(JSON.parse(jsonText(value)), value)),
      { numRuns: 500 },
    );
  });

  it('writes exactly what JSON.stringify writes with a -0 replacer, with or without -0 in the value', () => {
    const reference = (value: unknown) =>
      JSON.stringify(value, (_key, v: unknown) => (Object.is(v, -0) ? rawJSON('-0') : v));
    const withZeros = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        anyJson,
        fc.constantFrom(0, -0, '0', ':0,', '[0]'),
        fc.array(tie('value')),
        fc.dictionary(fc.string({ unit: 'binary' }), tie('value')),
      ),
    })).value;
    fc.assert(
      fc.property(withZeros, (value) => jsonText(value) === reference(value)),
      { numRuns: 1000 },
    );
  });

  it('finds a -0 wherever compact text writes it as 0', () => {
    for (const value of [-0, [-0], [1, -0], { a: -0 }, { a: [0, { b: -0 }] }, { s: 'x:0,', n: -0 }]) {
      expect(sameJson(JSON.parse(jsonText(value)), value)).toBe(true);
    }
    expect(jsonText({ s: 'x:0,', n: 0 })).toBe('{"s":"x:0,","n":0}');
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
