import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  codePointLength,
  ELLIPSIS,
  isStorableText,
  toStorableJson,
  toStorableText,
  truncate,
} from './text.js';

/** Any UTF-16 string: lone surrogates, U+0000 and pairs included. */
const anyText = fc.string({ unit: 'binary', maxLength: 60 });
/** Well-formed text rich in what breaks naive cuts: emoji, ZWJ sequences, combining marks, RTL. */
const richText = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 4 }),
      fc.constantFrom('😀', '👩‍👩‍👧‍👦', '🇫🇷', '👍🏽', 'é', 'e\u0301\u0301', 'שלום', '\u2028', 'a', ' '),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));
const anyJson = fc
  .jsonValue()
  .chain((base) =>
    fc.oneof(
      fc.constant(base),
      fc.dictionary(anyText, fc.oneof(anyText, fc.jsonValue()), { maxKeys: 5 }),
      fc.array(fc.oneof(anyText, fc.dictionary(anyText, anyText, { maxKeys: 3 })), { maxLength: 4 }),
    ),
  );

function keyCount(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, child) => sum + keyCount(child), 0);
  if (value === null || typeof value !== 'object') return 0;
  return Object.entries(value).reduce((sum, [, child]) => sum + 1 + keyCount(child), 0);
}

function allStorable(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) return value.every(allStorable);
  if (value === null || typeof value !== 'object') return true;
  return Object.entries(value).every(([key, child]) => isStorableText(key) && allStorable(child));
}

describe('truncate', () => {
  it('keeps a text within the limit unchanged', () => {
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('😀😀', 2)).toBe('😀😀'); // four UTF-16 units, two code points
  });

  it('never splits the emoji at the cut (the 403 of issue 7)', () => {
    const message = `${'x'.repeat(299)}😀${'y'.repeat(700)}`;
    const cut = truncate(message, 300);
    expect(cut).toBe(`${'x'.repeat(299)}${ELLIPSIS}`);
    expect(cut.isWellFormed()).toBe(true);
    expect(truncate(message, 301)).toBe(`${'x'.repeat(299)}😀${ELLIPSIS}`);
  });

  it('keeps grapheme clusters whole: a family emoji, a flag, a letter with its accents', () => {
    expect(truncate('ab👩‍👩‍👧‍👦cd', 6)).toBe(`ab${ELLIPSIS}`);
    expect(truncate('🇫🇷🇫🇷', 3)).toBe(`🇫🇷${ELLIPSIS}`);
    expect(truncate('xe\u0301\u0301yz', 4)).toBe(`x${ELLIPSIS}`);
    expect(truncate('xe\u0301\u0301yz', 5)).toBe(`xe\u0301\u0301${ELLIPSIS}`);
  });

  it('cuts between code points a single cluster longer than the whole limit', () => {
    const zalgo = `a${'\u0301'.repeat(50)}`;
    const cut = truncate(zalgo, 10);
    expect(codePointLength(cut)).toBe(10);
    expect(cut.endsWith(ELLIPSIS)).toBe(true);
  });

  it('leaves out the ellipsis when the limit has no room for it', () => {
    expect(truncate('abcdef', 1)).toBe('a');
    expect(truncate('abcdef', 0)).toBe('');
    expect(truncate('abcdef', 3, '')).toBe('abc');
  });

  it('never yields a lone surrogate from a well-formed text, nor more code points than the limit', () => {
    fc.assert(
      fc.property(richText, fc.nat({ max: 80 }), (text, max) => {
        const cut = truncate(text, max);
        expect(cut.isWellFormed()).toBe(true);
        expect(codePointLength(cut)).toBeLessThanOrEqual(max);
        const kept = cut !== text && cut.endsWith(ELLIPSIS) ? cut.slice(0, -ELLIPSIS.length) : cut;
        expect(text.startsWith(kept)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('adds no lone surrogate to any text, and keeps at most the limit', () => {
    fc.assert(
      fc.property(anyText, fc.nat({ max: 80 }), (text, max) => {
        const cut = truncate(text, max);
        expect(codePointLength(cut)).toBeLessThanOrEqual(max);
        const kept = cut === text || !cut.endsWith(ELLIPSIS) ? cut : cut.slice(0, -ELLIPSIS.length);
        expect(text.startsWith(kept)).toBe(true);
        // the cut never falls between the two halves of a pair
        const last = kept.charCodeAt(kept.length - 1);
        const next = text.charCodeAt(kept.length);
        expect(last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('is fast on a megabyte', () => {
    const big = '😀'.repeat(500_000);
    const started = Date.now();
    expect(codePointLength(truncate(big, 300))).toBe(300);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('toStorableText', () => {
  it('keeps storable text as it is, whatever its script', () => {
    const text = 'GDPR 😀 שלום e\u0301 \u2028 \uFFFF';
    expect(toStorableText(text)).toBe(text);
  });

  it('replaces U+0000 and lone surrogates, and only them, with U+FFFD', () => {
    expect(toStorableText('a\u0000b')).toBe('a\uFFFDb');
    expect(toStorableText('x\ud800y\udc00z😀')).toBe('x\uFFFDy\uFFFDz😀');
    expect(toStorableText('\ud83d')).toBe('\uFFFD');
  });

  it('always gives text PostgreSQL stores, of the same code point length', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const storable = toStorableText(text);
        expect(isStorableText(storable)).toBe(true);
        expect(codePointLength(storable)).toBe(codePointLength(text));
        expect(storable === text).toBe(isStorableText(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isStorableText', () => {
  it.each([
    ['plain', true],
    ['😀', true],
    ['\uFFFD', true],
    ['a\u0000', false],
    ['\ud800', false],
    ['\udc00\ud800', false],
    ['\ud83d\ude00', true],
  ])('%j → %s', (text, expected) => {
    expect(isStorableText(text)).toBe(expected);
  });
});

describe('toStorableJson', () => {
  it('makes every string and key storable, at any depth', () => {
    const value = { 'k\u0000': ['a\ud800', { deep: { 'x\udfff': 'y\u0000' } }], n: 1, b: true, z: null };
    expect(toStorableJson(value)).toEqual({
      'k\uFFFD': ['a\uFFFD', { deep: { 'x\uFFFD': 'y\uFFFD' } }],
      n: 1,
      b: true,
      z: null,
    });
  });

  it('loses no value when two keys become equal', () => {
    const value = { 'a\u0000': 1, 'a\uFFFD': 2, 'a\ud800': 3 };
    const storable = toStorableJson(value) as Record<string, unknown>;
    expect(Object.values(storable).sort()).toEqual([1, 2, 3]);
    expect(storable['a\uFFFD']).toBe(2); // a storable key keeps its own name
  });

  it('keeps __proto__ an ordinary key', () => {
    const value = JSON.parse('{"__proto__": {"polluted": "x\\u0000"}}') as unknown;
    const storable = toStorableJson(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(storable)).toBe(Object.prototype);
    expect(Object.hasOwn(storable, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('always gives JSON PostgreSQL stores, unchanged when it already was', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        const storable = toStorableJson(value);
        expect(allStorable(storable)).toBe(true);
        // unchanged when storable; otherwise as many keys as before (none lost to a collision)
        expect(storable).toEqual(allStorable(value) ? value : storable);
        expect(keyCount(storable)).toBe(keyCount(value));
      }),
      { numRuns: 1000 },
    );
  });
});
