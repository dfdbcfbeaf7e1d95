import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { Caller } from '../auth/caller.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { TrustedProxies } from './trusted-proxies.js';

export type SsoOutcome =
  | { kind: 'none' }
  | { kind: 'caller'; identity: string; caller: Caller }
  /** A trusted proxy named someone CONSOLE_SSO_USERS does not list. */
  | { kind: 'unknown'; identity: string };

/**
 * Identity from a trusted SSO proxy (CONSOLE_SSO_HEADER, e.g. oauth2-proxy's X-Forwarded-Email).
 * The header is believed only when the TCP peer is one of CONSOLE_TRUSTED_PROXIES; from anyone
 * else it is ignored and logged as a warning, without its value (a forged identity is still
 * someone's address).
 */
@Injectable()
export class SsoIdentity {
  private readonly logger = new Logger(SsoIdentity.name);
  private readonly proxies: TrustedProxies;
  private readonly header: string | null;
  private readonly users: AppConfig['console']['ssoUsers'];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.proxies = new TrustedProxies(config.console.trustedProxies);
    this.header = config.console.ssoHeader;
    this.users = config.console.ssoUsers;
  }

  get enabled(): boolean {
    return this.header !== null;
  }

  of(request: Request): SsoOutcome {
    if (!this.header) return { kind: 'none' };
    const raw = request.headers[this.header];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value.trim() === '') return { kind: 'none' };
    if (!this.proxies.contains(request.socket.remoteAddress)) {
      this.logger.warn(
        `ignored the SSO header ${this.header} from ${request.socket.remoteAddress ?? 'an unknown peer'}, which is not in CONSOLE_TRUSTED_PROXIES`,
      );
      return { kind: 'none' };
    }
    const identity = value.trim().slice(0, 320);
    const user = this.users.get(identity.toLowerCase());
    if (!user) return { kind: 'unknown', identity };
    return { kind: 'caller', identity, caller: { name: user.name, roles: user.roles } };
  }

  /**
   * True when a trusted proxy names someone other than the SSO session's person: another person
   * at the same browser, whose actions must not be taken as the session's. (A request the proxy
   * names nobody in, or an API-key session, is left to its cookie.)
   */
  contradicts(session: { method: string; callerName: string }, request: Request): boolean {
    if (session.method !== 'sso') return false;
    const outcome = this.of(request);
    if (outcome.kind === 'none') return false;
    return outcome.kind === 'unknown' || outcome.caller.name !== session.callerName;
  }
}
