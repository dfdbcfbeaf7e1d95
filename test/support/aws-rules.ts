/**
 * The AWS S3 rules that Ceph 16 (our test store) does not enforce, as pure functions of one
 * request: which operation it is, and the error AWS would answer it with. The proxy that applies
 * them to live traffic is aws-rules-proxy.ts; what needs the store's state (a bucket's default
 * retention, whether a key exists) is passed in.
 *
 * Only path-style requests are understood (`/bucket/key`): the service and the tests use path style.
 */
import { createHash } from 'node:crypto';
import { CHECKSUM_ALGORITHMS, type ChecksumName, checksumOf, digestBytes } from './aws-checksums.ts';

export type S3Operation =
  | 'PutObject'
  | 'UploadPart'
  | 'CopyObject'
  | 'PutObjectRetention'
  | 'PutObjectLegalHold'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'PutObjectLockConfiguration'
  | 'Other';

export interface S3Request {
  method: string;
  bucket: string;
  /** '' for a request on the bucket itself. */
  key: string;
  /** The raw query string, without `?`. */
  query: string;
  operation: S3Operation;
  /** Lower-case names; repeated headers joined with `,` as HTTP allows. */
  headers: Record<string, string>;
}

/** An answer in AWS's words. `violation` is false for outcomes a correct client must expect (412). */
export interface AwsError {
  status: number;
  code: string;
  message: string;
  /** Extra elements AWS adds to some errors (`Condition`, `Header`). */
  details?: Record<string, string>;
  violation: boolean;
}

/** Query parameters that make a PUT on a key something other than PutObject. */
const OBJECT_SUBRESOURCES = [
  'partNumber',
  'uploadId',
  'retention',
  'legal-hold',
  'tagging',
  'acl',
  'restore',
];

const LOCK_HEADERS = [
  'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date',
  'x-amz-object-lock-legal-hold',
];

/** `x-amz-checksum-*` headers that carry a setting rather than a checksum value. */
const CHECKSUM_SETTINGS = new Set(['x-amz-checksum-type', 'x-amz-checksum-algorithm', 'x-amz-checksum-mode']);

export function parseRequest(
  method: string,
  url: string,
  rawHeaders: Record<string, string | string[] | undefined>,
): S3Request {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawHeaders)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const query = at < 0 ? '' : url.slice(at + 1);
  const [bucket = '', ...rest] = path.slice(1).split('/');
  const request = {
    method: method.toUpperCase(),
    bucket: decodeURIComponent(bucket),
    key: decodeURIComponent(rest.join('/')),
    query,
    headers,
  };
  return { ...request, operation: operationOf(request, new URLSearchParams(query)) };
}

function operationOf(request: Omit<S3Request, 'operation'>, params: URLSearchParams): S3Operation {
  const { method, key, headers } = request;
  if (key === '')
    return method === 'PUT' && params.has('object-lock') ? 'PutObjectLockConfiguration' : 'Other';
  if (method === 'POST') {
    if (params.has('uploads')) return 'CreateMultipartUpload';
    if (params.has('uploadId')) return 'CompleteMultipartUpload';
    return 'Other';
  }
  if (method !== 'PUT') return 'Other';
  const copy = headers['x-amz-copy-source'] !== undefined;
  if (params.has('partNumber') && params.has('uploadId')) return copy ? 'Other' : 'UploadPart';
  if (params.has('retention')) return 'PutObjectRetention';
  if (params.has('legal-hold')) return 'PutObjectLegalHold';
  if (OBJECT_SUBRESOURCES.some((name) => params.has(name))) return 'Other';
  return copy ? 'CopyObject' : 'PutObject';
}

/** The `x-amz-checksum-<name>` headers that carry a checksum value. */
export function checksumHeaders(request: S3Request): string[] {
  return Object.keys(request.headers).filter(
    (name) => name.startsWith('x-amz-checksum-') && !CHECKSUM_SETTINGS.has(name),
  );
}

function hasChecksum(request: S3Request): boolean {
  return request.headers['content-md5'] !== undefined || checksumHeaders(request).length > 0;
}

/**
 * Whether the request is a conditional write that the proxy must check against the store, since
 * Ceph 16 ignores `If-None-Match: *` on a versioned bucket.
 */
export function isCreateOnly(request: S3Request): boolean {
  return isConditionable(request) && request.headers['if-none-match']?.trim() === '*';
}

function isConditionable(request: S3Request): boolean {
  return request.operation === 'PutObject' || request.operation === 'CompleteMultipartUpload';
}

/** AWS's answer to a create-only write on a key that exists. */
export const PRECONDITION_FAILED: AwsError = {
  status: 412,
  code: 'PreconditionFailed',
  message: 'At least one of the pre-conditions you specified did not hold',
  details: { Condition: 'If-None-Match' },
  violation: false,
};

/**
 * The error AWS answers `request` with where Ceph 16 would accept it, or null. `defaultRetention`
 * says whether the bucket has an Object Lock default retention rule.
 */
export function awsRefusal(request: S3Request, body: Buffer, defaultRetention: boolean): AwsError | null {
  return (
    streamingPayload(request) ??
    unsupportedCondition(request) ??
    checksumRequired(request, defaultRetention) ??
    digestMismatch(request, body)
  );
}

function streamingPayload(request: S3Request): AwsError | null {
  const sha = request.headers['x-amz-content-sha256'] ?? '';
  const encoding = request.headers['content-encoding'] ?? '';
  if (!sha.startsWith('STREAMING-') && !/(^|,)\s*aws-chunked\s*(,|$)/i.test(encoding)) return null;
  return {
    status: 501,
    code: 'NotImplemented',
    message:
      `aws-rules-proxy refuses aws-chunked payloads (x-amz-content-sha256: ${sha || '-'}, ` +
      `Content-Encoding: ${encoding || '-'}): the test store, Ceph 16, does not accept them reliably ` +
      '(it answers 411 MissingContentLength to the SDK). Send a buffered body with its checksum in a header.',
    violation: true,
  };
}

function unsupportedCondition(request: S3Request): AwsError | null {
  const value = request.headers['if-none-match'];
  if (value === undefined || !isConditionable(request) || value.trim() === '*') return null;
  return {
    status: 501,
    code: 'NotImplemented',
    message: 'A header you provided implies functionality that is not implemented',
    details: { Header: 'If-None-Match' },
    violation: true,
  };
}

function checksumRequired(request: S3Request, defaultRetention: boolean): AwsError | null {
  if (hasChecksum(request)) return null;
  const invalid = (message: string): AwsError => ({
    status: 400,
    code: 'InvalidRequest',
    message,
    violation: true,
  });
  switch (request.operation) {
    case 'PutObject':
      if (defaultRetention || LOCK_HEADERS.some((name) => request.headers[name] !== undefined))
        return invalid(
          'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
        );
      return null;
    case 'UploadPart':
      if (defaultRetention)
        return invalid(
          'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters',
        );
      return null;
    case 'PutObjectRetention':
    case 'PutObjectLegalHold':
    case 'PutObjectLockConfiguration':
      return invalid('Missing required header for this request: Content-MD5 OR x-amz-checksum-*');
    default:
      return null;
  }
}

/** Every digest the request carries must match its body, as AWS checks (Ceph 16 checks only MD5). */
function digestMismatch(request: S3Request, body: Buffer): AwsError | null {
  const bad = (status: number, code: string, message: string): AwsError => ({
    status,
    code,
    message,
    violation: true,
  });
  const md5 = request.headers['content-md5'];
  if (md5 !== undefined) {
    if (Buffer.from(md5, 'base64').length !== 16 || !isBase64(md5))
      return bad(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
    if (createHash('md5').update(body).digest('base64') !== md5)
      return bad(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const contentSha = request.headers['x-amz-content-sha256'];
  if (contentSha !== undefined && /^[0-9a-f]{64}$/i.test(contentSha)) {
    if (createHash('sha256').update(body).digest('hex') !== contentSha.toLowerCase())
      return bad(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
  }
  const names = checksumHeaders(request);
  if (names.length > 1)
    return bad(
      400,
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  const declared = request.headers['x-amz-sdk-checksum-algorithm'];
  if (declared !== undefined && !names.includes(`x-amz-checksum-${declared.toLowerCase()}`))
    return bad(
      400,
      'InvalidRequest',
      'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
    );
  // On CompleteMultipartUpload the header is the whole object's checksum, not the XML body's: the
  // proxy cannot recompute it, and it adds no rule AWS would refuse a correct request by.
  if (names.length === 0 || request.operation === 'CompleteMultipartUpload') return null;
  const header = names[0]!;
  const name = header.slice('x-amz-checksum-'.length);
  if (!(name in CHECKSUM_ALGORITHMS))
    return bad(400, 'InvalidRequest', `The algorithm type you specified in ${header} header is invalid.`);
  const algorithm = name as ChecksumName;
  const value = request.headers[header]!;
  if (!isBase64(value) || Buffer.from(value, 'base64').length !== digestBytes(algorithm))
    return bad(400, 'InvalidRequest', `Value for ${header} header is invalid.`);
  const expected = checksumOf(algorithm, body);
  if (expected === null)
    return bad(
      501,
      'NotImplemented',
      `aws-rules-proxy cannot verify ${header}, so it would pass unchecked on the test store: use SHA256, CRC32, CRC32C, CRC64NVME, SHA1 or Content-MD5.`,
    );
  if (expected !== value)
    return bad(
      400,
      'BadDigest',
      `The ${CHECKSUM_ALGORITHMS[algorithm]} you specified did not match the calculated checksum.`,
    );
  return null;
}

function isBase64(value: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0;
}

/** The XML body AWS sends with an error. */
export function errorXml(error: AwsError, requestId: string, resource: string): string {
  const escape = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const details = Object.entries(error.details ?? {})
    .map(([name, value]) => `<${name}>${escape(value)}</${name}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${error.code}</Code><Message>${escape(error.message)}</Message>${details}` +
    `<Resource>${escape(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`
  );
}
