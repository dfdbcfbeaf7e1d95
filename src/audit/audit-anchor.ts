/**
 * An anchor is a copy of the audit chain's head written to the archive bucket under Object Lock:
 * `<prefix><seq, 16 digits>-<hash>.json`. Whoever controls the database can rewrite the whole
 * chain consistently, but cannot remove or change a locked anchor, so a rewritten chain disagrees
 * with the anchors written before the rewrite. The key alone carries what verification compares
 * (seq and hash), so verifying does not read the anchors' bodies.
 */
export interface AuditAnchor {
  key: string;
  seq: number;
  hash: string;
}

/** The body of an anchor object. */
export interface AuditAnchorDocument {
  formatVersion: 1;
  seq: number;
  hash: string;
  /** When the anchor was written. */
  at: string;
  /** Events in the chain when it was anchored. */
  events: number;
  reason: string;
}

const SEQ_DIGITS = 16;

export function anchorKey(prefix: string, seq: number, hash: string): string {
  return `${prefix}${String(seq).padStart(SEQ_DIGITS, '0')}-${hash}.json`;
}

/** The anchor a key names, or null for a key that is not one (left there by someone else). */
export function parseAnchorKey(prefix: string, key: string): AuditAnchor | null {
  if (!key.startsWith(prefix)) return null;
  const match = /^(\d{16})-([0-9a-f]{64})\.json$/.exec(key.slice(prefix.length));
  if (!match) return null;
  return { key, seq: Number(match[1]), hash: match[2]! };
}
