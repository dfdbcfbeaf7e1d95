import { describe, expect, it } from '@jest/globals';
import type { Request } from 'express';
import { DomainError } from '../common/domain-error.js';
import { assertFormPost, crossSiteReason } from './console-csrf.js';

const OWN = 'https://teardown.internal.example';

function post(headers: Record<string, string>, body: Record<string, unknown>): Request {
  return {
    protocol: 'https',
    headers,
    body,
    get: (name: string) => (name.toLowerCase() === 'host' ? 'teardown.internal.example' : undefined),
  } as unknown as Request;
}

function refusal(run: () => void): DomainError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe(crossSiteReason.name, () => {
  it('believes Sec-Fetch-Site where a browser sends it', () => {
    expect(crossSiteReason({ 'sec-fetch-site': 'same-origin', origin: 'null' }, OWN)).toBeNull();
    expect(crossSiteReason({ 'sec-fetch-site': 'same-site' }, OWN)).toMatch(/same-site/);
    expect(crossSiteReason({ 'sec-fetch-site': 'cross-site', origin: OWN }, OWN)).toMatch(/cross-site/);
  });

  it('falls back on Origin, refusing another site and the opaque null', () => {
    expect(crossSiteReason({ origin: OWN }, OWN)).toBeNull();
    expect(crossSiteReason({ origin: 'https://evil.example' }, OWN)).toMatch(/another site/);
    expect(crossSiteReason({ origin: 'null' }, OWN)).toMatch(/another site/);
  });

  it('leaves a request with neither header to the token', () => {
    expect(crossSiteReason({}, OWN)).toBeNull();
  });
});

describe(assertFormPost.name, () => {
  const secret = 'session-csrf-secret-0123456789abcdefghijklm';

  it('lets a same-origin post with the session token through', () => {
    expect(
      refusal(() => assertFormPost(post({ 'sec-fetch-site': 'same-origin' }, { _csrf: secret }), secret)),
    ).toBeUndefined();
  });

  it('refuses with CSRF_REJECTED: no token, a wrong one, no session token, or another site', () => {
    const cases = [
      post({}, {}),
      post({}, { _csrf: 'guess' }),
      post({ origin: 'https://evil.example' }, { _csrf: secret }),
    ];
    for (const request of cases)
      expect(refusal(() => assertFormPost(request, secret))?.code).toBe('CSRF_REJECTED');
    expect(refusal(() => assertFormPost(post({}, { _csrf: '' }), undefined))?.code).toBe('CSRF_REJECTED');
  });
});
