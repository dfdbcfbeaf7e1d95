import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JSON Canonicalization Scheme) text, from the `canonicalize` library: object keys
 * sorted by UTF-16 code units at every level, numbers as ECMAScript prints them, no white space.
 * The same event always hashes the same, whatever order PostgreSQL's jsonb hands its keys back in.
 *
 * Audit hashes depend on this text byte for byte: `audit-hash.spec.ts` pins the hashes of known
 * events, computed with the hand-written version this replaced, and the library gives the same
 * text for every JSON value PostgreSQL can store. It differs only where jsonb cannot go: a lone
 * surrogate, which the library refuses (RFC 8785 3.2.2.2) and jsonb refuses too, so no stored
 * chain holds one.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  // only undefined, a function or a symbol at the top: nothing a caller hashes on purpose
  if (text === undefined) throw new TypeError('canonical JSON of a value JSON cannot represent');
  return text;
}
