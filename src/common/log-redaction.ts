/**
 * Masks what must never reach a log line: bearer tokens and API keys, presigned URL signatures,
 * passwords in URLs, and phone numbers (lead data). The logger applies it to every message and
 * every string field of every line, whatever its source (see src/ops/logging.ts).
 */
export function redact(text: string): string {
  return text
    .replace(/(Bearer\s+)[^\s"',]+/gi, '$1[redacted]')
    .replace(/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/(\/\/[^:/\s"']+:)[^@/\s"']+@/g, '$1[redacted]@')
    .replace(/\+?\d[\d\s().-]{7,}\d/g, (match) =>
      match.replace(/\D/g, '').length >= 8 ? '[redacted-number]' : match,
    );
}

const MAX_DEPTH = 8;

/**
 * A copy of a value logged as a field, every string in it redacted, errors included (their
 * message and stack may quote a URL or a body).
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (value instanceof Error) {
    // a copy of the same class (the log names it), its own fields redacted; the cause is left out
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error & Record<string, unknown>;
    for (const [key, inner] of Object.entries(value)) copy[key] = redactValue(inner, depth + 1);
    Object.defineProperty(copy, 'message', {
      value: redact(value.message),
      writable: true,
      configurable: true,
    });
    Object.defineProperty(copy, 'stack', {
      value: value.stack === undefined ? undefined : redact(value.stack),
      writable: true,
      configurable: true,
    });
    return copy;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  if (value instanceof Date) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = redactValue(inner, depth + 1);
  return copy;
}
