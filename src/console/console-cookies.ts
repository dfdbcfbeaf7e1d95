import type { Request, Response } from 'express';

/**
 * The console's cookies. Over HTTPS the session cookie is `__Host-` prefixed, which browsers accept
 * only with `Secure`, `Path=/` and no `Domain`: it cannot be set by a sibling host, nor over plain
 * HTTP. (A `__Host-` cookie cannot have `Path=/console`; the API ignores cookies, so being sent to
 * it changes nothing.) Over plain HTTP (a laptop, the tests) it is a host-only cookie on /console.
 */
export const SESSION_COOKIE = 'dnx_console_session';
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
/** The sign-in form's CSRF token, before there is a session to hold one. */
export const PRE_SESSION_COOKIE = 'dnx_console_signin';
export const PRE_SESSION_TTL_SECONDS = 600;

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    // the first of two cookies by one name wins, as in most servers; values are our own tokens
    if (!cookies.has(name) && /^[A-Za-z0-9_-]{1,200}$/.test(value)) cookies.set(name, value);
  }
  return cookies;
}

export function sessionTokenOf(request: Request): string | undefined {
  const cookies = parseCookies(request.headers.cookie);
  return request.secure ? cookies.get(SECURE_SESSION_COOKIE) : cookies.get(SESSION_COOKIE);
}

export function preSessionTokenOf(request: Request): string | undefined {
  return parseCookies(request.headers.cookie).get(PRE_SESSION_COOKIE);
}

interface CookieOptions {
  maxAgeSeconds: number;
  secure: boolean;
  path: string;
}

export function cookieHeader(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Max-Age=${options.maxAgeSeconds}`,
    `Path=${options.path}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

export function setSessionCookie(
  request: Request,
  response: Response,
  token: string,
  ttlSeconds: number,
): void {
  const secure = request.secure;
  response.append(
    'Set-Cookie',
    cookieHeader(secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE, token, {
      maxAgeSeconds: ttlSeconds,
      secure,
      path: secure ? '/' : '/console',
    }),
  );
}

export function clearSessionCookie(request: Request, response: Response): void {
  const secure = request.secure;
  response.append(
    'Set-Cookie',
    cookieHeader(secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE, '', {
      maxAgeSeconds: 0,
      secure,
      path: secure ? '/' : '/console',
    }),
  );
}

export function setPreSessionCookie(request: Request, response: Response, token: string): void {
  response.append(
    'Set-Cookie',
    cookieHeader(PRE_SESSION_COOKIE, token, {
      maxAgeSeconds: PRE_SESSION_TTL_SECONDS,
      secure: request.secure,
      path: '/console',
    }),
  );
}
