import { SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import { type Caller, hasRole } from '../auth/caller.js';
import type { Role } from '../config/app.config.js';
import { DomainError } from '../common/domain-error.js';
import type { ConsoleSession } from './console-session.js';
import type { NavItem, PageFrame } from './console-views.js';

/** A console request once ConsoleAuthGuard has let it through. */
export interface ConsoleRequest extends Request {
  caller?: Caller;
  consoleSession?: ConsoleSession;
}

export const CONSOLE_OPEN_KEY = 'dialnexa-teardown:console-open';
/** A console route open without a session (sign-in, the assets). Its form posts check CSRF themselves. */
export const ConsoleOpen = () => SetMetadata(CONSOLE_OPEN_KEY, true);

/** The signed-in caller (ConsoleAuthGuard set it: every non-open route has one). */
export function callerOfRequest(request: ConsoleRequest): Caller {
  if (!request.caller) throw new DomainError('UNAUTHENTICATED', 'sign in to the console');
  return request.caller;
}

/** The same role rule as the REST routes' `@Roles(...)`: any one of them, `admin` for all. */
export function requireRole(caller: Caller, ...roles: Role[]): void {
  if (!roles.some((role) => hasRole(caller, role))) {
    throw new DomainError('FORBIDDEN', `this page needs one of the roles: ${roles.join(', ')}`, {
      details: { requiredRoles: roles },
    });
  }
}

export function frameOf(request: ConsoleRequest, title: string, nav: NavItem): PageFrame {
  return { title, nav, caller: request.caller ?? null, csrfToken: request.consoleSession?.csrfSecret ?? '' };
}
