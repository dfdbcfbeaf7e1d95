/**
 * Where two JSON values differ, for values JSON.parse produced. Stricter than deep equality where
 * an archive must be: -0 is not 0 (Object.is), an own `__proto__` key is a key like any other,
 * and strings compare by code unit, lone surrogates included. Reports paths and the place where
 * strings differ, escaped, never whole values: a 1 MB string that differs in one character must
 * not flood the test output, and a U+2028 that became a line feed must be visible.
 */
export function jsonDifferences(actual: unknown, expected: unknown, path = '$', limit = 20): string[] {
  const found: string[] = [];
  compare(actual, expected, path, found, limit);
  return found;
}

function compare(actual: unknown, expected: unknown, path: string, found: string[], limit: number): void {
  if (found.length >= limit) return;
  const actualKind = kindOf(actual);
  const expectedKind = kindOf(expected);
  if (actualKind !== expectedKind) {
    found.push(`${path}: ${describe(actual)} instead of ${describe(expected)}`);
    return;
  }
  if (actualKind === 'array') {
    const a = actual as unknown[];
    const e = expected as unknown[];
    if (a.length !== e.length) found.push(`${path}: ${a.length} items instead of ${e.length}`);
    for (let i = 0; i < Math.min(a.length, e.length); i++) compare(a[i], e[i], `${path}[${i}]`, found, limit);
    return;
  }
  if (actualKind === 'object') {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(e)) found.push(`${path}: another prototype`);
    for (const key of Object.keys(e)) {
      const at = `${path}[${JSON.stringify(key)}]`;
      // an own property shadows Object.prototype's __proto__ accessor, so a[key] reads the key
      if (!Object.hasOwn(a, key)) found.push(`${at}: missing`);
      else compare(a[key], e[key], at, found, limit);
      if (found.length >= limit) return;
    }
    for (const key of Object.keys(a)) {
      if (!Object.hasOwn(e, key)) found.push(`${path}[${JSON.stringify(key)}]: not expected`);
    }
    return;
  }
  const short = (v: unknown) => typeof v === 'string' && v.length <= 30;
  if (actualKind === 'string' && actual !== expected && !(short(actual) && short(expected))) {
    found.push(`${path}: ${stringDifference(actual as string, expected as string)}`);
    return;
  }
  if (!Object.is(actual, expected))
    found.push(`${path}: ${describe(actual)} instead of ${describe(expected)}`);
}

function stringDifference(actual: string, expected: string): string {
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  const around = (text: string) => visible(text.slice(Math.max(0, at - 10), at + 20));
  return (
    `${actual.length} code units instead of ${expected.length}, first difference at ${at}: ` +
    `${around(actual)} instead of ${around(expected)}`
  );
}

/** A string as a JSON literal whose differences show: see `escapeInvisible`. */
function visible(text: string): string {
  return escapeInvisible(JSON.stringify(text));
}

// controls, format characters (bidi, ZWJ, BOM), surrogates, unassigned, separators other than the
// space, combining marks (an NFC-normalised "é" must not look like "e\u0301"), and U+FFFD
const INVISIBLE = /[\p{C}\p{M}\u2028\u2029\uFFFD]|(?! )\p{Z}/gu;

/**
 * JSON text with every character that a terminal hides, merges or renders alike escaped as
 * `\\uXXXX` (`\\u{XXXXX}` beyond the BMP): a U+2028 that became a line feed must show.
 */
export function escapeInvisible(jsonText: string): string {
  return jsonText.replace(INVISIBLE, (char) => {
    const code = char.codePointAt(0)!;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function describe(value: unknown): string {
  if (Object.is(value, -0)) return '-0';
  if (typeof value === 'string') return `${visible(value.slice(0, 30))}${value.length > 30 ? '…' : ''}`;
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
