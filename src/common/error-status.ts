import { assertUnreachable, type ErrorCode } from './domain-error.js';

/** The HTTP status of each error code, for API answers. Exhaustive: a new code must be placed. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'VALIDATION_FAILED':
      return 400;
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
    case 'APPROVAL_NOT_ALLOWED':
    case 'CSRF_REJECTED':
      return 403;
    case 'ROUTE_NOT_FOUND':
    case 'TEARDOWN_NOT_FOUND':
    case 'HOLD_NOT_FOUND':
    case 'RECEIPT_NOT_FOUND':
    case 'RESTORE_NOT_FOUND':
      return 404;
    case 'TEARDOWN_IN_PROGRESS':
    case 'TEARDOWN_NOT_ABORTABLE':
    case 'TEARDOWN_NOT_RETRYABLE':
    case 'WORKFLOW_ON_HOLD':
    case 'TEARDOWN_NOT_AWAITING_APPROVAL':
    case 'APPROVAL_ALREADY_RECORDED':
    case 'APPROVAL_EXPIRED':
    case 'HOLD_ALREADY_LIFTED':
    case 'RECEIPTS_DISABLED':
    case 'TEARDOWN_NOT_RESTORABLE':
    case 'RESTORE_SNAPSHOT_MISSING':
      return 409;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'IDEMPOTENCY_KEY_REUSED':
      return 422;
    case 'RATE_LIMITED':
      return 429;
    case 'WORKFLOW_NOT_FOUND':
    case 'WORKFLOW_GONE':
    case 'UPSTREAM_BAD_REQUEST':
    case 'UPSTREAM_UNAUTHORIZED':
    case 'UPSTREAM_FORBIDDEN':
    case 'UPSTREAM_CONFLICT':
    case 'UPSTREAM_RATE_LIMITED':
    case 'UPSTREAM_UNAVAILABLE':
    case 'UPSTREAM_TIMEOUT':
    case 'UPSTREAM_BAD_RESPONSE':
    case 'UPSTREAM_NOT_FOUND':
    case 'UPSTREAM_PAYLOAD_TOO_LARGE':
    case 'UPSTREAM_OUTCOME_UNKNOWN':
      return 502;
    case 'ARCHIVE_STORE_UNAVAILABLE':
    case 'DEPENDENCY_UNAVAILABLE':
      return 503;
    case 'ARCHIVE_WRITE_FAILED':
    case 'ARCHIVE_INCOMPLETE':
    case 'ARCHIVE_VERIFICATION_FAILED':
    case 'ARCHIVE_LOCK_FAILED':
    case 'DELETE_SETTLE_TIMEOUT':
    case 'LEASE_LOST':
    case 'TEARDOWN_CRASH_LOOP':
    case 'RESTORE_DRAFT_UNCERTAIN':
    case 'RESTORE_CRASH_LOOP':
    case 'INTERNAL_ERROR':
      return 500;
    default:
      return assertUnreachable(code);
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}
