import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError } from './domain-error.js';

const FORM_TYPE = /^application\/x-www-form-urlencoded\b/i;

function isConsoleFormPost(request: Request): boolean {
  return (
    (request.path === '/console' || request.path.startsWith('/console/')) &&
    FORM_TYPE.test(request.headers['content-type'] ?? '')
  );
}

/** application/json or application/*+json, in UTF-8 (RFC 8259) when a charset is named at all. */
const JSON_TYPE = /^application\/(?:[A-Za-z0-9.+-]+\+)?json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * A request with a body must declare it JSON. The body parser reads any body as JSON (so an
 * undeclared body is still validated, never ignored); this guard then refuses a body sent as
 * something else (415), so a form post or text/plain cannot act by accident.
 */
@Injectable()
export class JsonContentTypeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    // the web console's form posts, read by its own parser (src/console/console-http.ts) and
    // protected by its CSRF check; nothing else may post a form
    if (isConsoleFormPost(request)) return true;
    const length = request.headers['content-length'];
    const hasBody =
      request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (!hasBody || JSON_TYPE.test(request.headers['content-type'] ?? '')) return true;
    throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json in UTF-8');
  }
}
