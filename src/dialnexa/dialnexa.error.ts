import { DomainError, type ErrorCode } from '../common/domain-error.js';
import { truncate } from '../common/text.js';

/** What every DialNexa error names: never the query string, never the key. */
export interface UpstreamRequestContext {
  method: string;
  path: string;
}

/** In code points, the ellipsis included. */
const MAX_UPSTREAM_MESSAGE = 300;
// `+14155550123`, `+1 (415) 555-0100`, or a bare run of 7+ digits: lead phone numbers must not leak
// into error details, which callers see and audit events keep.
const PHONE_LIKE = /\+\d[\d ().-]{5,}\d|\b\d{7,}\b/g;

/** Removes the API key (and anything phone-like) from a text that may reach a caller or a log. */
export function scrub(text: string, apiKey: string): string {
  let out = text;
  if (apiKey.length > 0) out = out.split(apiKey).join('[redacted]');
  return out.replace(PHONE_LIKE, '[redacted]');
}

/**
 * A cause that is safe to attach: undici's own errors may quote request headers (the mock
 * dispatcher does), so any cause mentioning the key is replaced by a scrubbed copy.
 */
export function safeCause(error: unknown, apiKey: string): unknown {
  if (!(error instanceof Error)) return error;
  const text = `${error.message}\n${error.stack ?? ''}`;
  if (apiKey.length === 0 || !text.includes(apiKey)) return error;
  const copy = new Error(scrub(error.message, apiKey));
  copy.name = error.name;
  copy.stack = scrub(error.stack ?? '', apiKey);
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}

/** The `message` of DialNexa's error body (a string or an array of strings), scrubbed and bounded. */
export function upstreamMessageOf(body: string, apiKey: string): string | undefined {
  if (body.trim() === '') return undefined;
  let message: unknown;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const record = parsed as Record<string, unknown>;
    message = record.message ?? record.error;
  } catch {
    // a non-JSON error body (a proxy's HTML page): its text is not a DialNexa message
    return undefined;
  }
  const text = Array.isArray(message)
    ? message.filter((m) => typeof m === 'string').join('; ')
    : typeof message === 'string'
      ? message
      : undefined;
  if (text === undefined || text === '') return undefined;
  // scrubbed before the cut, so that a phone number cut in half is still found whole
  return truncate(scrub(text, apiKey), MAX_UPSTREAM_MESSAGE);
}

function classifyStatus(status: number): { code: ErrorCode; retryable: boolean } {
  switch (status) {
    case 400:
      return { code: 'UPSTREAM_BAD_REQUEST', retryable: false };
    case 401:
      return { code: 'UPSTREAM_UNAUTHORIZED', retryable: false };
    case 403:
      return { code: 'UPSTREAM_FORBIDDEN', retryable: false };
    case 404:
      return { code: 'WORKFLOW_NOT_FOUND', retryable: false };
    case 408:
      return { code: 'UPSTREAM_TIMEOUT', retryable: true };
    case 409:
      // the caller decides: for a cancel it is success, for a delete "cancel first or wait"
      return { code: 'UPSTREAM_CONFLICT', retryable: false };
    case 410:
      return { code: 'WORKFLOW_GONE', retryable: false };
    case 413:
      // only an upload has a body large enough: send fewer rows per file
      return { code: 'UPSTREAM_PAYLOAD_TOO_LARGE', retryable: false };
    case 429:
      return { code: 'UPSTREAM_RATE_LIMITED', retryable: true };
  }
  if (status >= 500) return { code: 'UPSTREAM_UNAVAILABLE', retryable: true };
  if (status >= 400) return { code: 'UPSTREAM_BAD_REQUEST', retryable: false };
  // 1xx/3xx: DialNexa never redirects; following one could send the key elsewhere
  return { code: 'UPSTREAM_BAD_RESPONSE', retryable: false };
}

/** The error for a DialNexa answer this client does not treat as success. */
export function upstreamStatusError(
  status: number,
  context: UpstreamRequestContext,
  upstreamMessage: string | undefined,
  /** A status whose meaning depends on the endpoint (an edge's 404 names a node, not the workflow). */
  codeFor?: Partial<Record<number, ErrorCode>>,
): DomainError {
  const classified = classifyStatus(status);
  const code = codeFor?.[status] ?? classified.code;
  const retryable = classified.retryable;
  const suffix = upstreamMessage === undefined ? '' : `: ${upstreamMessage}`;
  return new DomainError(code, `DialNexa answered ${status} to ${context.method} ${context.path}${suffix}`, {
    retryable,
    details: { status, method: context.method, path: context.path, upstreamMessage },
  });
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);

const UNAVAILABLE_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/** Failures before a connection existed: the request's bytes never left this process. */
const NOT_SENT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/**
 * Whether a request that failed without an answer may still have been performed upstream. Only
 * a failure to connect proves it was not: a reset or a timeout may come after DialNexa acted.
 */
export function mayHaveBeenPerformed(error: DomainError): boolean {
  const reason = error.details.reason;
  return !(typeof reason === 'string' && NOT_SENT_CODES.has(reason));
}

/**
 * A create (not idempotent upstream) whose outcome is unknown: it got no answer, a 5xx or 408
 * (DialNexa may have failed after storing the object), or a 2xx whose body does not name the new
 * object. Retryable, but never by sending the create again blindly: the caller looks the object
 * up in its list first (dialnexa-api.md, "Endpoints a restore uses").
 */
export function outcomeUnknownError(context: UpstreamRequestContext, cause: DomainError): DomainError {
  return new DomainError(
    'UPSTREAM_OUTCOME_UNKNOWN',
    `DialNexa may or may not have performed ${context.method} ${context.path}: ${cause.message}`,
    {
      retryable: true,
      details: {
        ...cause.details,
        method: context.method,
        path: context.path,
        outcome: 'unknown',
        after: cause.code,
      },
      cause,
    },
  );
}

function errorCodeOf(error: unknown): string | undefined {
  // undici throws its own errors; a wrapped one keeps the system error as `cause`
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TIMEOUT_CODES.has(code) || UNAVAILABLE_CODES.has(code))) return code;
  }
  const top = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof top === 'string' ? top : undefined;
}

/**
 * The error for a request that got no complete answer. `transient` says whether an idempotent
 * request may be sent again; unknown failures are neither retried nor called retryable.
 */
export function upstreamTransportError(
  error: unknown,
  context: UpstreamRequestContext,
  apiKey: string,
): { error: DomainError; transient: boolean } {
  const reason = errorCodeOf(error);
  const details = { method: context.method, path: context.path, reason };
  const cause = safeCause(error, apiKey);
  if (reason !== undefined && TIMEOUT_CODES.has(reason)) {
    return {
      error: new DomainError(
        'UPSTREAM_TIMEOUT',
        `DialNexa timed out on ${context.method} ${context.path} (${reason})`,
        {
          retryable: true,
          details,
          cause,
        },
      ),
      transient: true,
    };
  }
  if (reason !== undefined && UNAVAILABLE_CODES.has(reason)) {
    return {
      error: new DomainError(
        'UPSTREAM_UNAVAILABLE',
        `DialNexa unreachable on ${context.method} ${context.path} (${reason})`,
        { retryable: true, details, cause },
      ),
      transient: true,
    };
  }
  if (reason !== undefined && reason.startsWith('HPE_')) {
    return {
      error: new DomainError(
        'UPSTREAM_BAD_RESPONSE',
        `DialNexa sent a malformed HTTP response to ${context.method} ${context.path}`,
        { retryable: true, details, cause },
      ),
      transient: false,
    };
  }
  return {
    error: new DomainError(
      'UPSTREAM_UNAVAILABLE',
      `DialNexa request ${context.method} ${context.path} failed${reason === undefined ? '' : ` (${reason})`}`,
      { retryable: false, details, cause },
    ),
    transient: false,
  };
}

/** A 2xx whose body is not what the API documents (unparsable JSON, wrong shape). */
export function badResponseError(
  context: UpstreamRequestContext,
  status: number,
  why: string,
  cause?: unknown,
): DomainError {
  return new DomainError(
    'UPSTREAM_BAD_RESPONSE',
    `DialNexa's answer to ${context.method} ${context.path} ${why}`,
    {
      retryable: true,
      details: { status, method: context.method, path: context.path, upstreamMessage: undefined },
      cause,
    },
  );
}
