import type { Request } from 'express';
import { DomainError } from '../common/domain-error.js';
import { sameSecret } from './console-session.js';

/** The hidden field every console form carries. */
export const CSRF_FIELD = '_csrf';

/**
 * The browser's word on where a POST came from: `Sec-Fetch-Site` when sent (every current
 * browser), else `Origin`. (With `Referrer-Policy: no-referrer` Chromium sends `Origin: null` on
 * form posts, so Sec-Fetch-Site decides where it is present; `null` without it is refused.) A
 * request that carries neither (curl, a script) is judged by the token alone. Returns the reason
 * for a refusal, or null.
 */
export function crossSiteReason(headers: Request['headers'], ownOrigin: string): string | null {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string') {
    return site === 'same-origin' ? null : `Sec-Fetch-Site is ${site.slice(0, 40)}`;
  }
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== ownOrigin) return 'the Origin is another site';
  return null;
}

/**
 * Refuses a form post (CSRF_REJECTED, 403) unless it comes from this site and carries `expected`,
 * the session's synchronizer token (or, on the sign-in form, the pre-session cookie's).
 */
export function assertFormPost(request: Request, expected: string | undefined): void {
  const ownOrigin = `${request.protocol}://${request.get('host') ?? ''}`;
  const reason = crossSiteReason(request.headers, ownOrigin);
  if (reason) throw new DomainError('CSRF_REJECTED', `form refused: ${reason}`);
  const body = request.body as Record<string, unknown> | undefined;
  if (!expected || !sameSecret(body?.[CSRF_FIELD], expected)) {
    throw new DomainError(
      'CSRF_REJECTED',
      'form refused: its CSRF token is missing or does not match this session (reload the page and try again)',
    );
  }
}
