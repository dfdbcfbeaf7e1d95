import { Inject, Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller.js';
import type { AppConfig, Role } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import {
  type ConsoleSession,
  isActive,
  randomToken,
  type SignInMethod,
  tokenDigest,
} from './console-session.js';
import { ConsoleSessionRepository } from './console-session.repository.js';

/** Expired rows are kept this long after their expiry (for a person asking "was I signed in?"). */
const EXPIRED_KEPT_MS = 24 * 3600 * 1000;

/**
 * Console sign-in sessions. The token goes to the browser once, in the cookie; the table keeps its
 * SHA-256. A session is valid until CONSOLE_SESSION_TTL_MINUTES after sign-in, or until sign-out
 * revokes it (for every copy of the cookie).
 */
@Injectable()
export class ConsoleSessionService {
  constructor(
    private readonly sessions: ConsoleSessionRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get ttlSeconds(): number {
    return this.config.console.sessionTtlMinutes * 60;
  }

  async signIn(
    caller: Caller,
    method: SignInMethod,
    now = new Date(),
  ): Promise<{ token: string; session: ConsoleSession }> {
    await this.sessions.deleteExpired(new Date(now.getTime() - EXPIRED_KEPT_MS));
    const token = randomToken();
    const session = await this.sessions.insert({
      tokenSha256: tokenDigest(token),
      callerName: caller.name,
      roles: [...caller.roles],
      method,
      csrfSecret: randomToken(),
      expiresAt: new Date(now.getTime() + this.ttlSeconds * 1000),
    });
    return { token, session };
  }

  /**
   * The active session the token names, or null (unknown, expired or signed out, or its caller no
   * longer configured). Its roles are those it signed in with that the configuration still gives
   * its caller: a key or SSO user removed, or a role taken away, takes effect at once, as it does
   * for the REST API (a role given since needs a new sign-in).
   */
  async resolve(token: string | undefined, now = new Date()): Promise<ConsoleSession | null> {
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const session = await this.sessions.findByTokenDigest(tokenDigest(token));
    if (!session || !isActive(session, now)) return null;
    const signedInWith = new Set(session.roles);
    const roles = this.configuredRoles(session).filter(
      (role) => signedInWith.has(role) || signedInWith.has('admin'),
    );
    return roles.length > 0 ? { ...session, roles } : null;
  }

  /** The roles the configuration gives the session's caller now (none: no longer configured). */
  private configuredRoles(session: ConsoleSession): Role[] {
    const entries =
      session.method === 'api_key'
        ? this.config.apiKeys.filter((k) => k.name === session.callerName)
        : [...this.config.console.ssoUsers.values()].filter((u) => u.name === session.callerName);
    return [...new Set(entries.flatMap((e) => e.roles))];
  }

  async signOut(session: ConsoleSession, now = new Date()): Promise<void> {
    await this.sessions.revoke(session.id, now);
  }
}
