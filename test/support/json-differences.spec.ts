import { describe, expect, it } from '@jest/globals';
import { escapeInvisible, jsonDifferences } from './json-differences.ts';

// The archive round-trip tests pass when this finds nothing: it must find what jest's toEqual would
// miss or drown in (a 1 MB string), or those tests could not fail.
describe(jsonDifferences.name, () => {
  const parse = (text: string): unknown => JSON.parse(text);

  it('finds nothing between equal values, whatever their key order', () => {
    const text = '{"a":[1,-0,"\\u2028\\ud800",{"__proto__":{"":null}}],"b":1e21}';

    expect(
      jsonDifferences(parse(text), parse('{"b":1E+21,"a":[1,-0,"\\u2028\\ud800",{"__proto__":{"":null}}]}')),
    ).toEqual([]);
  });

  it.each([
    ['-0 and 0', '{"n":0}', '{"n":-0}', ['$["n"]: 0 instead of -0']],
    ['a missing own __proto__ key', '{}', '{"__proto__":{}}', ['$["__proto__"]: missing']],
    ['an unexpected own __proto__ key', '{"__proto__":1}', '{}', ['$["__proto__"]: not expected']],
    [
      'a lone surrogate and its replacement',
      '["\\ufffd"]',
      '["\\ud800"]',
      ['$[0]: "\\ufffd" instead of "\\ud800"'],
    ],
    ['U+2028 and a line feed', '"a\\nb"', '"a\\u2028b"', ['$: "a\\nb" instead of "a\\u2028b"']],
    ['a number and its text', '[1]', '["1"]', ['$[0]: 1 instead of "1"']],
    ['arrays of other lengths', '[[1,2]]', '[[1]]', ['$[0]: 2 items instead of 1']],
    ['an array and an object', '{"a":[]}', '{"a":{}}', ['$["a"]: an array instead of an object']],
  ])('tells apart %s', (_what, actual, expected, differences) => {
    expect(jsonDifferences(parse(actual), parse(expected))).toEqual(differences);
  });

  it('shows where long strings differ, not the strings, and stops at the limit', () => {
    const long = 'x'.repeat(1 << 20);

    const found = jsonDifferences(
      Array.from({ length: 30 }, () => `${long}a${long}`),
      Array.from({ length: 30 }, () => `${long}b`),
    );

    expect(found).toHaveLength(20);
    expect(found[0]).toBe(
      `$[0]: 2097153 code units instead of 1048577, first difference at 1048576: ` +
        `"xxxxxxxxxxaxxxxxxxxxxxxxxxxxxx" instead of "xxxxxxxxxxb"`,
    );
  });

  it('escapes what a terminal would hide or merge, and keeps what it shows', () => {
    const text = JSON.stringify(
      'a\u2028b \u202Eevil e\u0301 \u{1F469}\u200D\u{1F4BB} \u00A0\uFFFD \u{E0001} \u0645 \ud800',
    );

    expect(escapeInvisible(text)).toBe(
      '"a\\u2028b \\u202eevil e\\u0301 \u{1F469}\\u200d\u{1F4BB} \\u00a0\\ufffd \\u{e0001} \u0645 \\ud800"',
    );
  });
});
