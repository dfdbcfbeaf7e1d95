import { describe, expect, it } from '@jest/globals';
import { codePointLength, ELLIPSIS } from '../common/text.js';
import { upstreamMessageOf, upstreamStatusError } from './dialnexa.error.js';

const KEY = 'dnx_live_secret_key';

describe('upstreamMessageOf', () => {
  it('cuts a long message before the emoji that straddles the limit, never through it', () => {
    const message = `${'x'.repeat(299)}😀${'y'.repeat(700)}`;
    const cut = upstreamMessageOf(JSON.stringify({ statusCode: 403, message, error: 'Forbidden' }), KEY)!;
    expect(cut).toBe(`${'x'.repeat(299)}${ELLIPSIS}`);
    expect(cut.isWellFormed()).toBe(true);
  });

  it('bounds a message of emoji to 300 code points, well formed', () => {
    const cut = upstreamMessageOf(JSON.stringify({ message: '😀'.repeat(1000) }), KEY)!;
    expect(codePointLength(cut)).toBe(300);
    expect(cut.isWellFormed()).toBe(true);
  });

  it('scrubs the key and phone numbers before cutting', () => {
    const cut = upstreamMessageOf(
      JSON.stringify({ message: `${'a'.repeat(290)} ${KEY} +14155550123` }),
      KEY,
    )!;
    expect(cut).not.toContain('dnx_live');
    expect(cut).not.toMatch(/4155/);
  });

  it('keeps a short message as served, array messages joined', () => {
    expect(upstreamMessageOf(JSON.stringify({ message: ['a is bad', 'b is bad'] }), KEY)).toBe(
      'a is bad; b is bad',
    );
    expect(upstreamMessageOf('<html>', KEY)).toBeUndefined();
  });
});

describe('upstreamStatusError', () => {
  it('classifies a 403 as UPSTREAM_FORBIDDEN, not retryable, quoting the message', () => {
    const error = upstreamStatusError(403, { method: 'POST', path: '/v1/workflows/wfl_x/cancel' }, 'nope 😀');
    expect(error).toMatchObject({ code: 'UPSTREAM_FORBIDDEN', retryable: false });
    expect(error.message).toBe('DialNexa answered 403 to POST /v1/workflows/wfl_x/cancel: nope 😀');
  });
});
