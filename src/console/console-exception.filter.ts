import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError } from '../common/domain-error.js';
import { httpStatusOf } from '../common/error-status.js';
import { currentRequestId } from '../common/request-context.js';
import type { ConsoleRequest } from './console-request.js';
import { ConsoleViews } from './console-views.js';

/**
 * Console errors as pages, not JSON: the code and message of the domain error, with the status the
 * REST API would answer. A request without a session is sent to the sign-in page instead.
 */
@Catch()
export class ConsoleExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ConsoleError');

  constructor(private readonly views: ConsoleViews) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<ConsoleRequest>();
    if (response.headersSent) return;
    const error = toDomainError(exception);
    if (error.code === 'UNAUTHENTICATED' && !request.path.startsWith('/console/sign-in')) {
      if (request.path.endsWith('.json')) {
        response.status(401).json({ code: error.code, message: error.message });
        return;
      }
      response.redirect(303, '/console/sign-in');
      return;
    }
    const status = httpStatusOf(error.code);
    if (status >= 500) {
      this.logger.error(
        `${request.method} ${request.path} failed: ${exception instanceof Error ? exception.message : String(exception)}`,
        exception instanceof Error ? exception.stack : undefined,
      );
    }
    if (error.code === 'RATE_LIMITED' && typeof error.details['retryAfterSeconds'] === 'number') {
      response.setHeader('Retry-After', String(error.details['retryAfterSeconds']));
    }
    if (request.path.endsWith('.json')) {
      response.status(status).json({ code: error.code, message: error.message });
      return;
    }
    const session = request.consoleSession;
    this.views.render(
      response,
      'error',
      {
        title: `Error ${status}`,
        nav: 'none',
        caller: request.caller ?? null,
        csrfToken: session?.csrfSecret ?? '',
      },
      {
        status,
        code: error.code,
        message: error.message,
        fields: Array.isArray(error.details['fields']) ? error.details['fields'] : [],
      },
      status,
    );
  }
}

function toDomainError(exception: unknown): DomainError {
  if (exception instanceof DomainError) return exception;
  if (exception instanceof HttpException && exception.getStatus() === 404) {
    return new DomainError('ROUTE_NOT_FOUND', 'no such console page');
  }
  return new DomainError(
    'INTERNAL_ERROR',
    `an internal error occurred (request ${currentRequestId() ?? 'unknown'})`,
  );
}
