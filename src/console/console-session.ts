import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Caller } from '../auth/caller.js';
import type { Role } from '../config/app.config.js';

export type SignInMethod = 'api_key' | 'sso';

/** A person signed in to the console: a row of console_session, found by its token's digest. */
export interface ConsoleSession {
  id: string;
  callerName: string;
  roles: Role[];
  method: SignInMethod;
  /** The synchronizer token every form of this session carries (CSRF). */
  csrfSecret: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface NewConsoleSession {
  tokenSha256: string;
  callerName: string;
  roles: Role[];
  method: SignInMethod;
  csrfSecret: string;
  expiresAt: Date;
}

/** 256 random bits, URL-safe: a session token, a CSRF secret or a pre-session token. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the table keeps of a session token: its SHA-256, so a copy of the table signs nobody in. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A session is usable until it expires or is revoked (sign-out). */
export function isActive(session: ConsoleSession, now: Date): boolean {
  return session.revokedAt === null && session.expiresAt.getTime() > now.getTime();
}

export function callerOf(session: ConsoleSession): Caller {
  return { name: session.callerName, roles: session.roles };
}

/**
 * Constant-time equality of two secrets of any length: both are hashed first, so neither the
 * content nor the length of the expected one leaks through timing.
 */
export function sameSecret(presented: unknown, expected: string): boolean {
  if (typeof presented !== 'string' || presented.length === 0 || presented.length > 1024) return false;
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
