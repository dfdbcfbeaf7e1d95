/**
 * Values real DialNexa data can hold in its free-text and free-form fields (names, notes, lead
 * metadata from CSV uploads and CRM syncs, node config), chosen because they break naive code:
 * line breaks JavaScript sees but `\n`-splitting does not, NUL, lone surrogates, grapheme clusters,
 * right-to-left text, keys that collide with Object.prototype, numbers whose JSON text does not
 * survive a JSON.stringify round trip, deep nesting and long strings.
 *
 * The seed serves them by default (seed.ts), so every test that archives a workflow archives them.
 * Never in ids, statuses, phone numbers, timestamps or paging fields: the contract fixes those.
 *
 * Invisible and bidirectional characters are written as escapes so this file reads safely.
 */

/**
 * A JSON number written verbatim (JSON.rawJSON), for the forms a backend in another language sends
 * and JSON.stringify never writes (`1E+21`, `1.0`, 20-digit integers): what a client must keep is
 * the value JSON.parse reads from them, not the text.
 */
export class WireNumber {
  readonly text: string;

  constructor(text: string) {
    if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text))
      throw new RangeError(`not a JSON number: ${text}`);
    this.text = text;
  }

  toJSON(): unknown {
    return rawJson(this.text);
  }
}

// JSON.rawJSON is in Node 24 but not yet in TypeScript's ES2024 lib.
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * The replacer the simulator serialises every body with. JSON.stringify writes -0 as `0`; DialNexa's
 * JSON may well say `-0` (JSON.parse reads it as -0), so the simulator writes it, and a client that
 * re-serialises with plain JSON.stringify loses the sign: exactly what the archive must not do.
 */
export function wireReplacer(_key: string, value: unknown): unknown {
  return Object.is(value, -0) ? rawJson('-0') : value;
}

/** The body as the simulator puts it on the wire. */
export function toWireJson(value: unknown): string {
  return JSON.stringify(value, wireReplacer);
}

/** One of each kind, named for what it exercises. */
export const HOSTILE_STRINGS: Readonly<Record<string, string>> = {
  // JavaScript line terminators that JSON.stringify leaves unescaped and readline splits at
  lineSeparators: 'Call after 5pm\u2028ask for Dana\u2029(pasted from a PDF)',
  nul: 'ACME\u0000Holdings',
  // lone surrogates: not Unicode scalar values, JSON escapes them ("\ud83d")
  loneHighSurrogate: 'broken emoji \ud83d here',
  loneLowSurrogate: '\ude00 starts with a low surrogate',
  reversedSurrogates: 'reversed \ude00\ud83d pair',
  trailingHighSurrogate: 'cut in half \ud83d',
  emoji: 'Booked! \u{1F389}\u{1F4DE}\u2705\u{1F44D}\u{1F3FD}',
  zwjSequences:
    'family \u{1F469}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}, flag \u{1F3F3}\uFE0F\u200D\u{1F308}, dev \u{1F468}\u{1F3FD}\u200D\u{1F4BB}, \u{1F1EF}\u{1F1F5}',
  combiningMarks: 'Jose\u0301 Nguye\u0302\u0303n, Zoe\u0308, Z\u0351\u0300a\u0353l\u0328g\u0317o\u0334\u0355',
  arabic:
    '\u0645\u0631\u062D\u0628\u0627\u060C \u0623\u0631\u062C\u0648 \u0627\u0644\u0627\u062A\u0635\u0627\u0644 \u063A\u062F\u064B\u0627',
  hebrew: '\u05E9\u05DC\u05D5\u05DD, \u05E0\u05D0 \u05DC\u05D4\u05EA\u05E7\u05E9\u05E8 \u05DE\u05D7\u05E8',
  bidiControls: 'invoice \u202Egnp.exe\u202C and \u2066isolated\u2069 \u200Fmark\u200E',
  controlCharacters:
    'tab\there\r\nCRLF \bbackspace \fform-feed \u001B[31mred\u001B[0m \u007F \u0085NEL \u000Bvt',
  noncharacters: '\uFEFFBOM \uFFFE \uFFFF \u{10FFFF} \uFFFD',
  invisibles: 'zero\u200Bwidth soft\u00ADhyphen word\u2060joiner nbsp\u00A0x',
  jsonAndMarkup: 'quote " backslash \\ slash / </script><!-- ${x} {{first_name}} \\u0000 \\ud800',
  astral: '\u{1D518}\u{1D52B}\u{1D526}\u{1D520}\u{1D52C}\u{1D521}\u{1D522} \u{1D7D9}\u{1D7DA} \u{13000}',
  cjk: '\u8BF7\u660E\u5929\u4E0A\u5348\u56DE\u7535 / \u660E\u65E5\u306E\u5348\u524D\u306B\u6298\u308A\u8FD4\u3057',
  emptyString: '',
  onlyWhitespace: ' \t\u3000 ',
};

/** Object keys that break code building objects by assignment, splitting paths or trimming. */
export const HOSTILE_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  ' ',
  'a.b.c',
  '..',
  'key with spaces',
  ' leading',
  'trailing ',
  '$ref',
  '0',
  '42',
  '-1',
  'null',
  '\u043A\u043B\u044E\u0447',
  '\u0645\u0641\u062A\u0627\u062D',
  '\u{1F511}',
  'e\u0301',
  'line\u2028break',
  'nul\u0000key',
  'lone\ud800',
];

/** Numbers as JSON parses them; -0 is written as `-0` by `wireReplacer`. */
export const HOSTILE_NUMBERS: readonly unknown[] = [
  -0,
  0,
  1e21,
  1.5e-7,
  -1e-7,
  5e-324,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  0.1 + 0.2,
  123456789.12345679,
  new WireNumber('-0.0'),
  new WireNumber('1E+21'),
  new WireNumber('1.0'),
  new WireNumber('2.50e-7'),
  new WireNumber('12345678901234567890'),
  new WireNumber('0.1000000000000000055511151231257827'),
];

/** An object with every hostile key as an own property (literals and assignment would set the prototype for `__proto__`). */
export function objectWithHostileKeys(
  valueOf: (key: string, index: number) => unknown,
): Record<string, unknown> {
  return Object.fromEntries(HOSTILE_KEYS.map((key, index) => [key, valueOf(key, index)]));
}

/** `depth` levels of objects and arrays (an array every third level), ending in a hostile leaf. */
export function deeplyNested(depth: number): Record<string, unknown> {
  let value: unknown = { leaf: HOSTILE_STRINGS['lineSeparators'], n: -0 };
  for (let level = depth - 1; level >= 1; level--)
    value = level % 3 === 0 ? [value] : { level, child: value };
  return value as Record<string, unknown>;
}

/** Every hostile string, key and number, deep nesting included: a few KB. */
export function hostileCatalogue(nestingDepth: number): Record<string, unknown> {
  const strings = Object.values(HOSTILE_STRINGS);
  return {
    strings: { ...HOSTILE_STRINGS },
    keys: objectWithHostileKeys((_key, index) => strings[index % strings.length]),
    numbers: [...HOSTILE_NUMBERS],
    nested: deeplyNested(nestingDepth),
    empty: { object: {}, array: [], string: '' },
  };
}

const PARAGRAPH = Object.values(HOSTILE_STRINGS).join(' | ');
const longTexts = new Map<number, string>();

/**
 * `length` UTF-16 code units of hostile text. The cut may fall inside a surrogate pair, which
 * leaves a lone surrogate at the end: one more thing to survive. Cached: these are immutable.
 */
export function longHostileText(length: number): string {
  let text = longTexts.get(length);
  if (text === undefined) {
    text = PARAGRAPH.repeat(Math.ceil(length / PARAGRAPH.length)).slice(0, length);
    longTexts.set(length, text);
  }
  return text;
}
