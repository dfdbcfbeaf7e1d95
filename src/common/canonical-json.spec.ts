import { describe, expect, it } from '@jest/globals';
import { canonicalJson } from './canonical-json.js';

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

  it('refuses numbers JSON cannot carry', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow();
  });
});
