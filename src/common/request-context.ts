import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The request's id: the caller's `X-Request-Id` when it is sane, or a new one; decided once per
 * request (kept as `req.id`, where the access log finds it too) and echoed in the answer.
 */
export function requestIdOf(request: IncomingMessage & { id?: unknown }, response: ServerResponse): string {
  if (typeof request.id === 'string') return request.id;
  const offered = request.headers['x-request-id'];
  const requestId = typeof offered === 'string' && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
  request.id = requestId;
  if (!response.headersSent) response.setHeader('X-Request-Id', requestId);
  return requestId;
}

/** Gives every request an id (see `requestIdOf`), which the code serving it reads from `currentRequestId`. */
export function requestContextMiddleware(request: Request, response: Response, next: NextFunction): void {
  storage.run({ requestId: requestIdOf(request, response) }, next);
}
