import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiRateLimiter } from '../auth/api-rate-limiter.js';
import { DomainError } from '../common/domain-error.js';
import { sessionTokenOf } from './console-cookies.js';
import { assertFormPost } from './console-csrf.js';
import { CONSOLE_OPEN_KEY, type ConsoleRequest } from './console-request.js';
import { callerOf } from './console-session.js';
import { ConsoleSessionService } from './console-session.service.js';
import { SsoIdentity } from './sso-identity.js';

/**
 * The console's one door: a request needs an active session (its cookie; an SSO one only while the
 * trusted proxy names nobody else), spends one of its
 * caller's API rate-limit budget like a REST call, and a POST must carry the session's CSRF token
 * from this site. The REST API's key guard lets console routes through (`@Public()`): this guard
 * is their authentication.
 */
@Injectable()
export class ConsoleAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: ConsoleSessionService,
    private readonly rateLimiter: ApiRateLimiter,
    private readonly sso: SsoIdentity,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(CONSOLE_OPEN_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<ConsoleRequest>();
    const session = await this.sessions.resolve(sessionTokenOf(request));
    if (!session || this.sso.contradicts(session, request)) {
      throw new DomainError('UNAUTHENTICATED', 'sign in to the console');
    }
    request.consoleSession = session;
    request.caller = callerOf(session);
    this.rateLimiter.take(session.callerName);
    if (request.method === 'POST') assertFormPost(request, session.csrfSecret);
    return true;
  }
}
