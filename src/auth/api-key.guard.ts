import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DomainError } from '../common/domain-error.js';
import type { Role } from '../config/app.config.js';
import { ApiKeyVerifier } from './api-key.verifier.js';
import { ApiRateLimiter } from './api-rate-limiter.js';
import { type Caller, hasRole } from './caller.js';

const ROLES_KEY = 'dialnexa-teardown:roles';
const PUBLIC_KEY = 'dialnexa-teardown:public';
const OPTIONAL_AUTH_KEY = 'dialnexa-teardown:optional-auth';

/** The roles that may call a route (any one of them; `admin` may call everything). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
/** A route without authentication (health checks). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
/**
 * A route open without authentication that answers more to some roles (`/readyz`): a key, when
 * one is sent, is checked (401 when unknown) and names the caller; no key, no caller. Not rate
 * limited, like the public routes.
 */
export const OptionalAuth = () => SetMetadata(OPTIONAL_AUTH_KEY, true);

export interface AuthenticatedRequest extends Request {
  caller?: Caller;
}

/**
 * Authenticates every route that is not marked `@Public()`: `Authorization: Bearer <key>`,
 * checked by ApiKeyVerifier (the console's sign-in uses the same). An authenticated request then spends one of
 * its caller's rate-limit budget (before the role check: a caller probing routes it may not call
 * is still throttled).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: ApiKeyVerifier,
    private readonly rateLimiter: ApiRateLimiter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (this.reflector.getAllAndOverride<boolean>(OPTIONAL_AUTH_KEY, targets)) {
      if (request.headers.authorization !== undefined)
        request.caller = this.authenticate(request.headers.authorization);
      return true;
    }
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const caller = this.authenticate(request.headers.authorization);
    request.caller = caller;
    this.rateLimiter.take(caller.name);
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.some((role) => hasRole(caller, role))) {
      throw new DomainError('FORBIDDEN', `this route needs one of the roles: ${roles.join(', ')}`, {
        details: { requiredRoles: roles },
      });
    }
    return true;
  }

  private authenticate(header: string | undefined): Caller {
    // the auth scheme is case-insensitive (RFC 9110, section 11.1)
    const match = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(header ?? '');
    if (!match) throw new DomainError('UNAUTHENTICATED', 'send Authorization: Bearer <API key>');
    const caller = this.verifier.callerOf(match[1]!);
    if (!caller) throw new DomainError('UNAUTHENTICATED', 'the API key is not valid');
    return caller;
  }
}
