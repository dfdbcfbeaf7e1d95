/**
 * Every failure the service reports carries one of these codes. They are part of the public
 * contract (error bodies, `teardown.error.code`, audit details): add codes, never rename one.
 */
export const ERROR_CODES = [
  // caller errors
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'ROUTE_NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'TEARDOWN_NOT_FOUND',
  'TEARDOWN_IN_PROGRESS',
  'TEARDOWN_NOT_ABORTABLE',
  'TEARDOWN_NOT_RETRYABLE',
  'WORKFLOW_ON_HOLD',
  'IDEMPOTENCY_KEY_REUSED',
  'TEARDOWN_NOT_AWAITING_APPROVAL',
  'APPROVAL_NOT_ALLOWED',
  'APPROVAL_ALREADY_RECORDED',
  'APPROVAL_EXPIRED',
  'HOLD_NOT_FOUND',
  'HOLD_ALREADY_LIFTED',
  'RECEIPT_NOT_FOUND',
  'RECEIPTS_DISABLED',
  'RESTORE_NOT_FOUND',
  'TEARDOWN_NOT_RESTORABLE',
  'RESTORE_SNAPSHOT_MISSING',
  // web console: a form post without its CSRF token, or from another site
  'CSRF_REJECTED',
  // upstream (DialNexa)
  'WORKFLOW_NOT_FOUND',
  'WORKFLOW_GONE',
  'UPSTREAM_BAD_REQUEST',
  'UPSTREAM_UNAUTHORIZED',
  'UPSTREAM_FORBIDDEN',
  'UPSTREAM_CONFLICT',
  'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_BAD_RESPONSE',
  'UPSTREAM_NOT_FOUND',
  'UPSTREAM_PAYLOAD_TOO_LARGE',
  'UPSTREAM_OUTCOME_UNKNOWN',
  // archive (S3)
  'ARCHIVE_STORE_UNAVAILABLE',
  'ARCHIVE_WRITE_FAILED',
  'ARCHIVE_INCOMPLETE',
  'ARCHIVE_VERIFICATION_FAILED',
  'ARCHIVE_LOCK_FAILED',
  // runner
  'DELETE_SETTLE_TIMEOUT',
  'LEASE_LOST',
  'DEPENDENCY_UNAVAILABLE',
  'TEARDOWN_CRASH_LOOP',
  'RESTORE_DRAFT_UNCERTAIN',
  'RESTORE_CRASH_LOOP',
  'INTERNAL_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface DomainErrorOptions {
  /** True when the same operation may succeed later without anyone changing anything. */
  retryable?: boolean;
  /** Safe to show to callers: never secrets, never lead phone numbers. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class DomainError extends Error {
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'DomainError';
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/** For exhaustive switches over unions: a new member breaks the build here. */
export function assertUnreachable(value: never): never {
  throw new Error(`unreachable: ${String(value)}`);
}
