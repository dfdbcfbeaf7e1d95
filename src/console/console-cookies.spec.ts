import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { cookieHeader, parseCookies } from './console-cookies.js';

describe(parseCookies.name, () => {
  it('reads each cookie, the first of two by one name winning', () => {
    const sut = parseCookies('a=1; dnx_console_session=tok_EN-1; a=2;  b = x ');

    expect(sut.get('a')).toBe('1');
    expect(sut.get('dnx_console_session')).toBe('tok_EN-1');
    expect(sut.get('b')).toBe('x');
  });

  it('drops values that cannot be one of its tokens (quotes, escapes, huge)', () => {
    const sut = parseCookies(`a="quoted"; b=%41; c=${'x'.repeat(500)}`);

    expect(sut.size).toBe(0);
  });

  it('never throws on any header', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (header) => {
        expect(() => parseCookies(header)).not.toThrow();
      }),
    );
  });
});

describe(cookieHeader.name, () => {
  it('is HttpOnly and SameSite=Strict always, Secure when asked', () => {
    expect(cookieHeader('n', 'v', { maxAgeSeconds: 60, secure: false, path: '/console' })).toBe(
      'n=v; Max-Age=60; Path=/console; HttpOnly; SameSite=Strict',
    );
    expect(cookieHeader('n', 'v', { maxAgeSeconds: 60, secure: true, path: '/' })).toBe(
      'n=v; Max-Age=60; Path=/; HttpOnly; SameSite=Strict; Secure',
    );
  });
});
