/**
 * JSON text as the archive writes and reads it. The archive must give back exactly the value
 * DialNexa served, whatever its strings hold, so two things differ from the obvious code:
 *
 * - Writing keeps `-0`: `JSON.stringify(-0)` is `"0"`, which parses back as a different number.
 *   Everything else JSON.stringify already round-trips: U+2028/U+2029 and U+0000 are written as
 *   they are or escaped, lone surrogates are escaped (`"\ud800"`), `__proto__` stays an own key.
 * - Reading NDJSON splits on `\n` (0x0A) only (ndjson.ts). `node:readline` also breaks lines at
 *   U+2028, U+2029 and `\r`, all of which JSON.stringify leaves unescaped inside strings.
 */

// JSON.rawJSON (ES2025, in Node 24) is not in the ES2024 lib this project compiles against.
const { rawJSON } = JSON as unknown as { rawJSON: (text: string) => unknown };
const NEGATIVE_ZERO = rawJSON('-0');

const keepNegativeZero = (_key: string, value: unknown): unknown =>
  value === 0 && Object.is(value, -0) ? NEGATIVE_ZERO : value;

/**
 * A number token `0` in compact JSON text. Every -0 of a value is written as exactly such a token
 * (after `:`, `[` or `,`, before `,`, `]` or `}`, or as the whole text), so text without one comes
 * from a value without -0. Strings may match too (`"10:0,"`): that only costs a scan of the value.
 */
const ZERO_TOKEN = /(?:^|[:,[])0(?:$|[,\]}])/;

/** Whether the value holds a -0; `true` too when a `toJSON` could make one (JSON.parse makes none). */
function hasNegativeZero(value: unknown): boolean {
  if (typeof value === 'number') return Object.is(value, -0);
  if (typeof value !== 'object' || value === null) return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
  if (Array.isArray(value)) return value.some(hasNegativeZero);
  for (const key in value) {
    if (Object.hasOwn(value, key) && hasNegativeZero((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/** JSON.stringify that round-trips every value JSON.parse can produce, `-0` included. */
export function jsonText(value: unknown, indent?: number): string {
  // A replacer makes JSON.stringify call back for every value, about a fifth slower on leads:
  // compact text is written without it unless it may hide a -0.
  let text: string | undefined;
  if (indent === undefined) {
    text = JSON.stringify(value);
    if (text !== undefined && ZERO_TOKEN.test(text) && hasNegativeZero(value)) text = undefined;
  }
  text ??= JSON.stringify(value, keepNegativeZero, indent);
  if (text === undefined) throw new TypeError('the value has no JSON text');
  return text;
}
