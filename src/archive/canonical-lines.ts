import { isUtf8 } from 'node:buffer';

/**
 * The archive's NDJSON lines straight from the bytes DialNexa served, without JSON.stringify.
 *
 * An exported lead's line is `jsonText(JSON.parse(its text))` (json-text.ts). Where the text a
 * page carries for a lead already is that, or is that but for whitespace and the spelling of
 * numbers, its bytes can be copied into the archive (with those few edits made): no serialising,
 * no UTF-8 encoding, little garbage. This module finds each element of the page's item array in
 * the body and gives its line, or null where it cannot be sure (the lead is then written from its
 * parsed value, as before). It gives a line when:
 *
 * - the whole body is valid UTF-8 (no encoded surrogate: a lone surrogate is then an escape);
 * - every string escapes what JSON.stringify escapes and nothing else, in its spelling: `\"`,
 *   `\\`, `\b \f \n \r \t`, `\u00xx` (lower-case hex) for the other code points below U+0020,
 *   `\udxxx` for a lone surrogate (never for half of a pair, which JSON.stringify writes as the
 *   character itself);
 * - no object repeats a key (JSON.parse keeps the last value at the first key's place), and keys
 *   that are array indices (`"7"`: V8 enumerates those first, in numeric order) come first, in
 *   that order.
 *
 * Whitespace between tokens is dropped, and a number not spelt as JavaScript spells the double it
 * parses to (`1.0`, `1E+21`, `-0.0`, `1e400`) is written as JSON.stringify writes that double
 * (`1`, `1e+21`, `-0` as jsonText keeps it, `null`).
 *
 * The property tests (canonical-lines.spec.ts) hold this to `jsonText(JSON.parse(...))` byte for
 * byte on arbitrary JSON, written canonically and not.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;
/** The deepest nesting scanned; deeper bodies are answered null. */
const MAX_NESTING = 1_000;
/** Bytes of a string looked at one by one before a native search for its end takes over. */
const SHORT_STRING_BYTES = 24;
/** Integers of up to 15 digits are exact doubles: JavaScript writes them back digit for digit. */
const EXACT_INTEGER_DIGITS = 15;
/** Keys of an object compared with each other one by one; more go into a set. */
const PAIRWISE_KEYS = 16;
/** The largest array index, 2^32 - 2: a key that spells one is enumerated before the others. */
const MAX_ARRAY_INDEX = 4_294_967_294;

class NotJson extends Error {}

/**
 * For each element of the JSON array at `path` (a chain of object keys from the top; `[]` when
 * the body is the array) in `body`: `jsonText(JSON.parse(...))` of the element as UTF-8 (a view
 * of `body` when its bytes are that already), or null when not sure it can tell. `body` must be a
 * text JSON.parse accepts (raw control characters in strings are not looked for). null when the body is not valid UTF-8 or JSON, or holds no
 * array at `path` (a key repeated on the way is taken at its last occurrence, as JSON.parse does).
 */
export function canonicalElements(
  body: Uint8Array,
  path: readonly string[],
): Array<Uint8Array | null> | null {
  if (!isUtf8(body)) return null;
  const finder = new ItemsFinder(
    new Scanner(body),
    path.map((key) => Buffer.from(JSON.stringify(key), 'utf8')),
  );
  try {
    return finder.document();
  } catch (error) {
    if (error instanceof NotJson) return null;
    throw error;
  }
}

/** Finds the items' array in a body and gives each element's line (Scanner reads the values). */
class ItemsFinder {
  constructor(
    private readonly s: Scanner,
    /** The keys as canonical JSON strings, quotes included. */
    private readonly path: readonly Uint8Array[],
  ) {}

  document(): Array<Uint8Array | null> | null {
    const b = this.s.b;
    // a byte order mark is no part of the text (undici's body.text() drops it too)
    if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this.s.i = 3;
    this.s.ws();
    const found = this.find(0);
    this.s.ws();
    if (this.s.i !== b.length) throw new NotJson();
    return found;
  }

  /** The value at the cursor, searched for the array at path[depth...]; scans past it. */
  private find(depth: number): Array<Uint8Array | null> | null {
    if (depth === this.path.length) {
      if (this.s.b[this.s.i] !== OPEN_BRACKET) {
        this.s.value();
        return null;
      }
      return this.elements();
    }
    if (this.s.b[this.s.i] !== OPEN_BRACE) {
      this.s.value();
      return null;
    }
    const wanted = this.path[depth]!;
    let found: Array<Uint8Array | null> | null = null;
    this.s.i += 1;
    this.s.ws();
    if (this.s.b[this.s.i] === CLOSE_BRACE) {
      this.s.i += 1;
      return null;
    }
    for (;;) {
      const keyStart = this.s.i;
      this.s.string();
      // an escaped key might spell the wanted one: where the array is is then not worth knowing
      if (this.s.b.subarray(keyStart, this.s.i).includes(BACKSLASH)) throw new NotJson();
      const matches = this.same(keyStart, this.s.i, wanted);
      this.s.ws();
      this.s.expect(COLON);
      this.s.ws();
      // the last occurrence of a repeated key is the one JSON.parse keeps
      if (matches) found = this.find(depth + 1);
      else this.s.value();
      this.s.ws();
      if (this.s.b[this.s.i] === CLOSE_BRACE) {
        this.s.i += 1;
        return found;
      }
      this.s.expect(COMMA);
      this.s.ws();
    }
  }

  /** The array at the cursor, element by element. */
  private elements(): Array<Uint8Array | null> {
    const b = this.s.b;
    const out: Array<Uint8Array | null> = [];
    this.s.i += 1;
    this.s.ws();
    if (b[this.s.i] === CLOSE_BRACKET) {
      this.s.i += 1;
      return out;
    }
    for (;;) {
      const start = this.s.i;
      this.s.canonical = true;
      this.s.edits.length = 0;
      this.s.value();
      out.push(this.s.canonical ? withEdits(b, start, this.s.i, this.s.edits) : null);
      this.s.ws();
      if (b[this.s.i] === CLOSE_BRACKET) {
        this.s.i += 1;
        return out;
      }
      this.s.expect(COMMA);
      this.s.ws();
    }
  }

  /** Whether b[start, end) holds the bytes of `other`. */
  private same(start: number, end: number, other: Uint8Array): boolean {
    if (end - start !== other.length) return false;
    const b = this.s.b;
    for (let k = 0; k < other.length; k++) if (b[start + k] !== other[k]) return false;
    return true;
  }
}

/** Reads JSON values at a cursor, noting whether each is written as jsonText writes it. */
class Scanner {
  i = 0;
  /** Objects and arrays the cursor is in. */
  private depth = 0;
  /**
   * What the element being scanned needs to become jsonText's: [start, end, replacement] triples,
   * in order (whitespace dropped, numbers spelt as JavaScript spells them; ASCII only).
   */
  readonly edits: Array<number | string> = [];
  /**
   * The keys of the objects being scanned, innermost last: [start, end) of each key's text, in
   * keys[0, keysTop) (a stack reused rather than an array per object).
   */
  private readonly keys: number[] = [];
  private keysTop = 0;
  /** Where the next backslash at or after the cursor is (the body's length when none is left). */
  private backslash = -1;
  /** Where the next quote at or after the cursor is, once looked for. */
  private quote = -1;
  /** Cleared by anything not written as jsonText would write it, in the element being scanned. */
  canonical = true;

  constructor(readonly b: Uint8Array) {}

  value(): void {
    const c = this.b[this.i];
    if (c === QUOTE) this.string();
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      // deeper than this, the scan (which recurses, unlike JSON.parse) could run out of stack:
      // such a lead is serialised the old way
      if (++this.depth > MAX_NESTING) throw new NotJson();
      if (c === OPEN_BRACE) this.object();
      else this.array();
      this.depth -= 1;
    } else if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) this.number();
    else if (c === 0x74) this.literal('true');
    else if (c === 0x66) this.literal('false');
    else if (c === 0x6e) this.literal('null');
    else throw new NotJson();
  }

  private object(): void {
    const b = this.b;
    this.i += 1;
    this.ws();
    if (b[this.i] === CLOSE_BRACE) {
      this.i += 1;
      return;
    }
    // where each key's text starts and ends, to find a repeated one: this object's are
    // keys[base...], above those of the objects it is nested in; past a few, a set of them (each
    // key against every earlier one is quadratic: 10 s of the event loop for 30,000 keys)
    const keys = this.keys;
    const base = this.keysTop;
    let many: Set<string> | null = null;
    // array indices come first, in ascending order, as V8 enumerates them
    let lastIndex = -1;
    for (;;) {
      const keyStart = this.i;
      this.string();
      const keyEnd = this.i;
      if (this.canonical) {
        const index = arrayIndex(b, keyStart + 1, keyEnd - 1);
        if (index === -1) lastIndex = Infinity;
        else if (index > lastIndex) lastIndex = index;
        else this.canonical = false;
        if (many === null && this.keysTop - base < 2 * PAIRWISE_KEYS) {
          for (let k = base; k < this.keysTop && this.canonical; k += 2) {
            if (sameBytes(b, keyStart, keyEnd, keys[k]!, keys[k + 1]!)) this.canonical = false;
          }
          keys[this.keysTop] = keyStart;
          keys[this.keysTop + 1] = keyEnd;
          this.keysTop += 2;
        } else {
          if (many === null) {
            many = new Set();
            for (let k = base; k < this.keysTop; k += 2) many.add(latin1(b, keys[k]!, keys[k + 1]!));
          }
          const key = latin1(b, keyStart, keyEnd); // one string per byte sequence
          if (many.has(key)) this.canonical = false;
          else many.add(key);
        }
      }
      this.ws();
      this.expect(COLON);
      this.ws();
      this.value();
      this.ws();
      if (b[this.i] === CLOSE_BRACE) {
        this.i += 1;
        this.keysTop = base;
        return;
      }
      this.expect(COMMA);
      this.ws();
    }
  }

  private array(): void {
    const b = this.b;
    this.i += 1;
    this.ws();
    if (b[this.i] === CLOSE_BRACKET) {
      this.i += 1;
      return;
    }
    for (;;) {
      this.value();
      this.ws();
      if (b[this.i] === CLOSE_BRACKET) {
        this.i += 1;
        return;
      }
      this.expect(COMMA);
      this.ws();
    }
  }

  /**
   * A string at the cursor (its opening quote), checked for JSON.stringify's escapes. Raw control
   * characters are not looked for: the body is one JSON.parse accepted, which refuses them.
   */
  string(): void {
    const b = this.b;
    let i = this.i + 1;
    // most strings (keys above all) are short: a few bytes looked at here cost less than a call
    for (const stop = Math.min(i + SHORT_STRING_BYTES, b.length); i < stop; i++) {
      const c = b[i];
      if (c === QUOTE) {
        this.i = i + 1;
        return;
      }
      if (c === BACKSLASH) break;
    }
    for (;;) {
      // native searches (memchr) rather than a loop over every byte: the bytes between quotes and
      // backslashes need no look
      if (this.quote < i) {
        this.quote = indexOf.call(b, QUOTE, i);
        if (this.quote < 0) throw new NotJson();
      }
      if (this.backslash < i) {
        this.backslash = indexOf.call(b, BACKSLASH, i);
        if (this.backslash < 0) this.backslash = b.length;
      }
      if (this.backslash > this.quote) {
        i = this.quote;
        break;
      }
      i = this.backslash;
      const e = b[i + 1];
      if (
        e === QUOTE ||
        e === BACKSLASH ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        i += 2;
        continue;
      }
      if (e === 0x2f) {
        this.canonical = false; // `\/`: JSON.stringify writes `/`
        i += 2;
        continue;
      }
      if (e !== 0x75) throw new NotJson();
      const unit = hex4(b, i + 2);
      if (unit < 0) throw new NotJson();
      if (!canonicalUnitEscape(b, i, unit)) this.canonical = false;
      i += 6;
    }
    this.i = i + 1;
  }

  private number(): void {
    const b = this.b;
    const start = this.i;
    let i = start;
    if (b[i] === MINUS) i += 1;
    if (b[i] === ZERO) i += 1;
    else if (isDigit(b[i])) while (isDigit(b[i])) i += 1;
    else throw new NotJson();
    const intEnd = i;
    if (b[i] === DOT) {
      i += 1;
      if (!isDigit(b[i])) throw new NotJson();
      while (isDigit(b[i])) i += 1;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i += 1;
      if (b[i] === 0x2b || b[i] === MINUS) i += 1;
      if (!isDigit(b[i])) throw new NotJson();
      while (isDigit(b[i])) i += 1;
    }
    this.i = i;
    if (!this.canonical) return;
    const digits = intEnd - start - (b[start] === MINUS ? 1 : 0);
    // an integer JavaScript writes digit for digit (-0 included: jsonText keeps it)
    if (i === intEnd && digits <= EXACT_INTEGER_DIGITS) return;
    const token = latin1(b, start, i);
    const parsed = Number(token); // what JSON.parse makes of the token: the nearest double
    // as JSON.stringify writes it (past the largest double: null), -0 as jsonText keeps it
    const spelt = Number.isFinite(parsed) ? (Object.is(parsed, -0) ? '-0' : String(parsed)) : 'null';
    if (spelt !== token) this.edits.push(start, i, spelt);
  }

  private literal(word: string): void {
    for (let k = 0; k < word.length; k++) {
      if (this.b[this.i + k] !== word.charCodeAt(k)) throw new NotJson();
    }
    this.i += word.length;
  }

  expect(byte: number): void {
    if (this.b[this.i] !== byte) throw new NotJson();
    this.i += 1;
  }

  /** Skips whitespace, which jsonText does not write. */
  ws(): void {
    const b = this.b;
    let i = this.i;
    if (i >= b.length || b[i]! > 0x20) return; // most often: no whitespace
    while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i += 1;
    if (i !== this.i) {
      this.edits.push(this.i, i, '');
      this.i = i;
    }
  }
}

/** b[start, end) with `edits` made (a copy then, else a view of `b`). */
function withEdits(
  b: Uint8Array,
  start: number,
  end: number,
  edits: ReadonlyArray<number | string>,
): Uint8Array {
  if (edits.length === 0) return b.subarray(start, end);
  let length = end - start;
  for (let k = 0; k < edits.length; k += 3) {
    length += (edits[k + 2] as string).length - ((edits[k + 1] as number) - (edits[k] as number));
  }
  const out = Buffer.allocUnsafe(length);
  let from = start;
  let to = 0;
  for (let k = 0; k < edits.length; k += 3) {
    const editStart = edits[k] as number;
    out.set(b.subarray(from, editStart), to);
    to += editStart - from;
    to += out.write(edits[k + 2] as string, to, 'latin1');
    from = edits[k + 1] as number;
  }
  out.set(b.subarray(from, end), to);
  return out;
}

/** Whether JSON.stringify writes the code unit `unit` as the `\uXXXX` escape at `at`. */
function canonicalUnitEscape(b: Uint8Array, at: number, unit: number): boolean {
  if (!isLowerHex(b, at + 2)) return false;
  if (unit < 0x20) {
    // these five have short forms; JSON.stringify uses them
    return unit !== 0x08 && unit !== 0x09 && unit !== 0x0a && unit !== 0x0c && unit !== 0x0d;
  }
  if (unit >= 0xd800 && unit <= 0xdbff) {
    // a high surrogate is escaped only when no low one follows it
    return !(b[at + 6] === BACKSLASH && b[at + 7] === 0x75 && isLowSurrogate(hex4(b, at + 8)));
  }
  if (unit >= 0xdc00 && unit <= 0xdfff) {
    // a low surrogate is escaped only when it follows no high one (an escaped high one, since
    // valid UTF-8 holds no surrogate)
    return !(
      at >= 6 &&
      b[at - 6] === BACKSLASH &&
      b[at - 5] === 0x75 &&
      isHighSurrogate(hex4(b, at - 4)) &&
      !escapedBackslash(b, at - 6)
    );
  }
  return false;
}

/** Uint8Array's own, a builtin: Buffer's goes through more JavaScript per call. */
// eslint-disable-next-line @typescript-eslint/unbound-method -- always called with `.call(bytes, ...)`
const indexOf: (this: Uint8Array, byte: number, from: number) => number = Uint8Array.prototype.indexOf;

/** Whether b[aStart, aEnd) and b[bStart, bEnd) hold the same bytes. */
function sameBytes(b: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let k = 0; k < aEnd - aStart; k++) if (b[aStart + k] !== b[bStart + k]) return false;
  return true;
}

/** b[start, end) as a string of one character per byte. */
function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

/** The value of 4 hex digits at `at`, or -1. */
function hex4(b: Uint8Array, at: number): number {
  let value = 0;
  for (let k = 0; k < 4; k++) {
    const c = b[at + k];
    if (c === undefined) return -1;
    let digit: number;
    if (c >= ZERO && c <= NINE) digit = c - ZERO;
    else if (c >= 0x61 && c <= 0x66) digit = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) digit = c - 0x41 + 10;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

function isLowerHex(b: Uint8Array, at: number): boolean {
  for (let k = 0; k < 4; k++) {
    const c = b[at + k]!;
    if (c >= 0x41 && c <= 0x46) return false;
  }
  return true;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** Whether the backslash at `at` is itself escaped (preceded by an odd run of backslashes). */
function escapedBackslash(b: Uint8Array, at: number): boolean {
  let run = 0;
  for (let k = at - 1; k >= 0 && b[k] === BACKSLASH; k--) run += 1;
  return run % 2 === 1;
}

/** The array index b[start, end) spells (`0`, or up to 2^32 - 2 without leading zeros), or -1. */
function arrayIndex(b: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length < 1 || length > 10) return -1;
  if (length > 1 && b[start] === ZERO) return -1;
  let value = 0;
  for (let k = start; k < end; k++) {
    const c = b[k]!;
    if (c < ZERO || c > NINE) return -1;
    value = value * 10 + (c - ZERO);
  }
  return value <= MAX_ARRAY_INDEX ? value : -1;
}
