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
 * A copy of a value logged as a field, every string in it redacted. Errors become
 * `{type, message, stack, code}` (their message and stack may quote a URL or a body).
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (value instanceof Error) {
    const code = (value as Error & { code?: unknown }).code;
    return {
      type: value.name,
      message: redact(value.message),
      stack: value.stack === undefined ? undefined : redact(value.stack),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  if (value instanceof Date) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = redactValue(inner, depth + 1);
  return copy;
}
