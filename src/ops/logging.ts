import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import type { Options as HttpLoggerOptions } from 'pino-http';
import { redact, redactValue } from '../common/log-redaction.js';
import { requestIdOf } from '../common/request-context.js';
import type { AppConfig } from '../config/app.config.js';
import { routeOf } from './http-metrics.middleware.js';

/**
 * The service's one pino logger: JSON lines (`level`, `time`, `pid`, `hostname`, `context`,
 * `requestId`, `teardownId`, `msg`), every message and string field redacted (`redact`), written
 * asynchronously to stdout (sonic-boom: a slow terminal or pipe never blocks the event loop) and
 * flushed at shutdown and exit.
 */
export function createRootLogger(
  config: Pick<AppConfig, 'logLevel'>,
  destination: DestinationStream = pino.destination({ dest: 1, sync: false }),
): Logger {
  return pino(loggerOptions(config.logLevel), destination);
}

export function loggerOptions(level: AppConfig['logLevel']): LoggerOptions {
  return {
    level,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // header values are never logged (the access log names its fields), but a stray request or
    // error object must not carry a key either
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.authorization'],
      censor: '[redacted]',
    },
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? redact(arg) : redactValue(arg))) as Parameters<
            typeof method
          >,
        );
      },
    },
  };
}

type AccessRequest = IncomingMessage & { caller?: { name?: unknown }; originalUrl?: string };

/**
 * One access line per request: `{method, route, path, status, durationMs, requestId, caller}`
 * and the message `GET /v1/teardowns/:id 200`. Never headers, bodies or query strings (the key is
 * in a header; ids in a query may be anything).
 */
export function accessLogOptions(logger: Logger): HttpLoggerOptions {
  const fields = (request: AccessRequest, response: ServerResponse) => ({
    method: request.method,
    route: routeOf(request),
    path: (request.originalUrl ?? request.url ?? '').split('?')[0],
    status: response.statusCode,
  });
  return {
    logger,
    genReqId: (request, response) => requestIdOf(request, response),
    customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
    quietReqLogger: true,
    quietResLogger: true,
    customProps: (request: AccessRequest) => {
      const caller = request.caller?.name;
      return typeof caller === 'string' ? { caller } : {};
    },
    customLogLevel: (_request, response, error) => (error || response.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: (request, response) =>
      `${request.method} ${routeOf(request)} ${response.statusCode}`,
    customErrorMessage: (request, response) => `${request.method} ${routeOf(request)} ${response.statusCode}`,
    customSuccessObject: (request, response, value: Record<string, unknown>) => ({
      ...fields(request, response),
      durationMs: value['durationMs'],
    }),
    customErrorObject: (request, response, _error, value: Record<string, unknown>) => ({
      ...fields(request, response),
      durationMs: value['durationMs'],
    }),
  };
}
