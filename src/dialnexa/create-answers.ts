import { randomBytes } from 'node:crypto';
import type { JsonObject, LeadUpload } from './dialnexa.types.js';

/** The id sanity check of dialnexa-api.md: ids are opaque, but never empty, long or odd. */
const SANE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isSaneId(value: unknown): value is string {
  return typeof value === 'string' && SANE_ID.test(value);
}

/**
 * The object a create answered with, from either shape (bare, or the `{statusCode, message,
 * data}` envelope), or a reason why it names no new object.
 */
export function createdObjectOf(payload: unknown): JsonObject | string {
  if (!isObject(payload)) return 'is not a JSON object';
  if (!isSaneId(payload.id)) return 'names no id for the new object';
  return payload;
}

function leadIdsOf(value: unknown): string[] | undefined {
  // one number may enrol several leads, so every value is a list
  if (!Array.isArray(value)) return undefined;
  return value.every(isSaneId) ? value : undefined;
}

/**
 * The answer to a lead upload: `{statusCode, message, data: {phone: [leadId…]}, count}`, or the
 * same without the envelope (`{data, count}`), or the bare map. Keys are defined, not assigned,
 * so a phone "number" `__proto__` stays a key.
 */
export function leadUploadOf(body: unknown): LeadUpload | string {
  if (!isObject(body)) return 'is not a JSON object';
  const wrapped = 'data' in body;
  const map = wrapped ? body.data : body;
  if (!isObject(map)) return 'has no map of phone numbers to lead ids';
  const entries: Array<[string, string[]]> = [];
  let ids = 0;
  for (const [phone, value] of Object.entries(map)) {
    const leadIds = leadIdsOf(value);
    if (leadIds === undefined) return 'maps a phone number to something that is not a list of lead ids';
    entries.push([phone, leadIds]);
    ids += leadIds.length;
  }
  const count = wrapped && typeof body.count === 'number' && Number.isInteger(body.count) ? body.count : ids;
  return { leadIdsByPhone: Object.fromEntries(entries), count };
}

/**
 * A `multipart/form-data` body with one file field (RFC 7578). The boundary is random and
 * checked absent from the content, so any bytes travel unchanged.
 */
export function multipartFile(
  field: string,
  filename: string,
  contentType: string,
  content: Uint8Array,
  random: (size: number) => Buffer = randomBytes,
): { body: Buffer; contentType: string } {
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  let boundary: string;
  do boundary = `dialnexa-teardown-${random(16).toString('hex')}`;
  while (bytes.includes(boundary));
  const head =
    `--${boundary}\r\n` +
    `Content-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
    `Content-Type: ${contentType}\r\n\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head, 'utf8'), bytes, Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8')]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}
