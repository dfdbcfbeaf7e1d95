import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError, type ErrorCode } from './domain-error.js';
import { httpStatusOf, reasonPhrase } from './error-status.js';
import { currentRequestId } from './request-context.js';
import { truncate } from './text.js';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The one place that turns errors into HTTP answers with the contract's shape. Domain errors map
 * by code; anything unexpected becomes a neutral 500 naming the request id, and its stack goes to
 * the log only.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const response = context.getResponse<Response>();
    const request = context.getRequest<Request>();
    const error = this.toDomainError(exception, request);
    const statusCode = httpStatusOf(error.code);
    if (statusCode >= 500) {
      this.logger.error(
        `${request.method} ${request.path} failed: ${exception instanceof Error ? exception.message : String(exception)}`,
        exception instanceof Error ? exception.stack : undefined,
      );
    }
    const body: ErrorBody = {
      statusCode,
      error: reasonPhrase(statusCode),
      code: error.code,
      message: error.message,
      details: error.details,
    };
    if (error.code === 'RATE_LIMITED' && typeof error.details['retryAfterSeconds'] === 'number') {
      response.setHeader('Retry-After', String(error.details['retryAfterSeconds']));
    }
    if (!response.headersSent) response.status(statusCode).json(body);
  }

  private toDomainError(exception: unknown, request: Request): DomainError {
    if (exception instanceof DomainError) {
      // Errors of the upstream or the store reach callers only through teardown resources; on a
      // request path they mean the service could not do its part: neutral message, stable code.
      return exception;
    }
    const status = exception instanceof HttpException ? exception.getStatus() : bodyParserStatus(exception);
    switch (status) {
      case 400:
        return new DomainError('VALIDATION_FAILED', 'the request body is not valid JSON', {
          details: { fields: [{ field: '(body)', message: 'not valid JSON' }] },
        });
      case 404:
        return new DomainError(
          'ROUTE_NOT_FOUND',
          `no route ${request.method} ${truncate(request.path, 200)}`,
        );
      case 405:
        return new DomainError('ROUTE_NOT_FOUND', `method ${request.method} is not allowed here`);
      case 413:
        return new DomainError('PAYLOAD_TOO_LARGE', 'the request body is too large');
      case 415:
        return new DomainError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
      default:
        return new DomainError(
          'INTERNAL_ERROR',
          `an internal error occurred (request ${currentRequestId() ?? 'unknown'})`,
          {
            details: { requestId: currentRequestId() ?? null },
          },
        );
    }
  }
}

/** body-parser errors carry their status in `status`/`statusCode`. */
function bodyParserStatus(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const candidate =
    (exception as { status?: unknown; statusCode?: unknown }).status ??
    (exception as { statusCode?: unknown }).statusCode;
  return typeof candidate === 'number' && candidate >= 400 && candidate < 500 ? candidate : undefined;
}
