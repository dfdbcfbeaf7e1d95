import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import type { AuthenticatedRequest } from './api-key.guard.js';
import type { Caller } from './caller.js';

export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  if (!caller) throw new DomainError('UNAUTHENTICATED', 'send Authorization: Bearer <API key>');
  return caller;
});
