import { describe, expect, it } from '@jest/globals';
import { redact, redactValue } from './log-redaction.js';

describe('redact', () => {
  it.each([
    ['Authorization: Bearer dnx_live_abc123', 'dnx_live_abc123'],
    ['lead +14155550123 moved', '+14155550123'],
    ['https://s3/x?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA', 'deadbeef'],
    ['postgresql://svc:hunter2@db/teardown', 'hunter2'],
  ])('masks secrets and phone numbers in %s', (line, secret) => {
    expect(redact(line)).not.toContain(secret);
  });

  it('keeps ordinary text, ids and small numbers', () => {
    expect(redact('teardown td_01JD step 3 of 5 took 250 ms')).toBe(
      'teardown td_01JD step 3 of 5 took 250 ms',
    );
  });
});

describe('redactValue', () => {
  it('masks strings at any depth and in errors, and keeps numbers', () => {
    const error = new Error('GET https://svc:hunter2@dialnexa/v1 failed for +14155550123');
    const out = JSON.stringify(
      redactValue({ n: 14155550123, nested: [{ header: 'Bearer dnx_live_abc123' }], err: error }),
    );
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('+14155550123');
    expect(out).not.toContain('dnx_live_abc123');
    expect(out).toContain('14155550123'); // a number field is not text
  });
});
