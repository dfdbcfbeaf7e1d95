/**
 * Text that leaves the process (a column, a jsonb document, an error body) must be text
 * PostgreSQL accepts and must not be cut where a character or a visible symbol would break.
 *
 * PostgreSQL refuses U+0000 in `text` and in `jsonb` ("unsupported Unicode escape sequence"),
 * and refuses a lone surrogate escaped in `jsonb` (`"\ud800"`); in a `text` parameter Node's
 * UTF-8 encoder turns a lone surrogate into U+FFFD on the way. A string from DialNexa or S3 may
 * hold either, so what is stored goes through `toStorableText` / `toStorableJson` first.
 */

/** What replaces a character PostgreSQL cannot store: visible, and what UTF-8 decoders use too. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

/** Appended to a truncated text, so a reader sees that something was cut. */
export const ELLIPSIS = '…';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** True when PostgreSQL stores `text` as it is in `text` and in `jsonb`: no U+0000, no lone surrogate. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/**
 * `text` unchanged when PostgreSQL can store it; otherwise each U+0000 and each lone surrogate
 * becomes U+FFFD. Lossy only for those characters, and visibly so.
 */
export function toStorableText(text: string): string {
  if (isStorableText(text)) return text;
  return text.toWellFormed().replaceAll('\u0000', REPLACEMENT_CHARACTER);
}

/**
 * A JSON value (as `JSON.parse` returns it) whose strings and object keys are all storable. Keys
 * that become equal once made storable are kept apart by further U+FFFD, so no value is lost.
 * Objects are built with `Object.fromEntries`, so a `__proto__` key stays an ordinary key.
 */
export function toStorableJson(value: unknown): unknown {
  if (typeof value === 'string') return toStorableText(value);
  if (Array.isArray(value)) return value.map(toStorableJson);
  if (value === null || typeof value !== 'object') return value;
  const entries: Array<[string, unknown]> = [];
  const keys = new Set<string>();
  for (const [key, child] of Object.entries(value)) {
    let storable = toStorableText(key);
    while (storable !== key && (keys.has(storable) || Object.hasOwn(value, storable))) {
      storable += REPLACEMENT_CHARACTER;
    }
    keys.add(storable);
    entries.push([storable, toStorableJson(child)]);
  }
  return Object.fromEntries(entries);
}

/** The number of code points (a surrogate pair counts once, a lone surrogate once). */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    // a high surrogate followed by a low one is one code point: skip the low one
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const nextUnit = text.charCodeAt(i + 1);
      if (nextUnit >= 0xdc00 && nextUnit <= 0xdfff) i += 1;
    }
    count += 1;
  }
  return count;
}

/**
 * At most `maxCodePoints` code points of `text`, the ellipsis included when the text was cut.
 * The cut falls between grapheme clusters (an emoji with its modifiers, a letter with its
 * combining marks stay whole), so it never splits a surrogate pair. A single cluster longer than
 * the whole budget (a letter under thousands of combining marks) is cut between code points.
 */
export function truncate(text: string, maxCodePoints: number, ellipsis: string = ELLIPSIS): string {
  const max = Math.max(0, Math.floor(maxCodePoints));
  // cheap exits: a UTF-16 length within the budget is a code point length within it
  if (text.length <= max || codePointLength(text) <= max) return text;
  const mark = codePointLength(ellipsis) < max ? ellipsis : '';
  const budget = max - codePointLength(mark);
  let end = 0;
  let used = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    const size = codePointLength(segment);
    if (used + size > budget) break;
    used += size;
    end = index + segment.length;
  }
  if (end === 0 && budget > 0) end = codePointPrefixEnd(text, budget);
  return text.slice(0, end) + mark;
}

/** The UTF-16 index just after the first `count` code points of `text`. */
function codePointPrefixEnd(text: string, count: number): number {
  let end = 0;
  for (const character of text) {
    if (count === 0) break;
    end += character.length;
    count -= 1;
  }
  return end;
}
