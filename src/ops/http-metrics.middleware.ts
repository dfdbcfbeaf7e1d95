import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { type HttpMetrics, METRICS } from './metrics.port.js';

/** The route label of requests that matched no route (404s, bodies refused before routing). */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * The route template a request was served by (`/v1/teardowns/:id`), read once it has finished:
 * Express sets `req.route` when a route handles the request. Raw paths never become labels, so a
 * caller sending random paths cannot grow the metrics without bound.
 */
export function routeOf(request: IncomingMessage): string {
  const route: unknown = (request as IncomingMessage & { route?: unknown }).route;
  const path: unknown =
    typeof route === 'object' && route !== null && 'path' in route ? route.path : undefined;
  return typeof path === 'string' ? path : UNMATCHED_ROUTE;
}

/**
 * Times every HTTP request by method, route template and status. Mounted first (configureApp),
 * so that requests refused before routing (413, 415, malformed JSON) are counted too.
 */
@Injectable()
export class HttpMetricsMiddleware {
  constructor(@Inject(METRICS) private readonly metrics: HttpMetrics) {}

  readonly handle = (request: Request, response: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    response.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.httpRequest(request.method, routeOf(request), response.statusCode, seconds);
    });
    next();
  };
}
