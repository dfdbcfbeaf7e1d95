import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DomainError } from '../common/domain-error.js';
import { truncate } from '../common/text.js';
import type { AppConfig, ArchiveLockMode } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PartBufferPool } from './part-buffer-pool.js';

const S3_CONNECT_TIMEOUT_MS = 5_000;
/** Longest silence on a connection before the request fails (not a bound on a whole upload). */
const S3_IDLE_TIMEOUT_MS = 20_000;

export interface StoredObject {
  key: string;
  versionId: string | null;
}

export interface Retention {
  mode: Exclude<ArchiveLockMode, 'NONE'>;
  retainUntil: Date;
}

/** How an object is written. Every write is once: an existing key is never overwritten. */
export interface WriteOptions {
  retention?: Retention;
  /**
   * Stored on the object as `x-amz-meta-*` (lower-case ASCII names and values): what a later
   * attempt checks before it adopts the object instead of writing it again.
   */
  metadata?: Record<string, string>;
  /**
   * Called right before the request that makes the key visible (PutObject,
   * CompleteMultipartUpload); throws when the writer may no longer write (it lost its lease).
   */
  fence?: () => Promise<void>;
  /** Aborts the requests in flight (the writer lost its lease). */
  signal?: AbortSignal;
}

export interface StreamWriteOptions extends WriteOptions {
  /**
   * Metadata known only once the stream has ended (its SHA-256, its record count). It is stored
   * when the whole stream fits in one part and so goes up in one PutObject; a multipart upload
   * must name its metadata before its first part, so it carries only `metadata`.
   */
  metadataAtEnd?: () => Record<string, string>;
}

/** A part an upload holds, as the store lists it. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
  bytes: number;
}

export interface ObjectHead {
  versionId: string | null;
  bytes: number;
  /** The object's `x-amz-meta-*` values, by lower-case name without the prefix. */
  metadata: Record<string, string>;
}

/** The key exists already: a conditional write (`If-None-Match: *`) was refused with 412. */
export class ObjectExistsError extends DomainError {
  constructor(readonly key: string) {
    super('ARCHIVE_WRITE_FAILED', `${key} exists already; archive objects are written once`, {
      retryable: true, // the next attempt adopts what it finds
      details: { key },
    });
  }
}

export interface BucketCheck {
  ok: boolean;
  reason?: string;
}

/**
 * The S3 archive store: the only class that talks to S3. It never creates the bucket (the
 * operator owns it) and never deletes an object.
 *
 * Every write is one that AWS S3 accepts in a bucket with Object Lock and a default retention:
 * each PutObject and UploadPart carries `Content-MD5` (which Ceph 16 checks too) and PutObject also
 * `x-amz-checksum-sha256` (which AWS checks and Ceph 16 ignores). The SDK's own checksums stay off
 * (`WHEN_REQUIRED`): on streaming bodies they use aws-chunked trailers, which Ceph 16 does not
 * speak reliably; the bodies sent here are all buffers with checksums computed beforehand.
 *
 * Every write is also once: it carries `If-None-Match: *` (AWS refuses it with 412 when the key
 * exists), and because some stores ignore that header (Ceph 16), callers check for the key first.
 *
 * Written against what Ceph's gateway (our test store) does differently from AWS: lock headers on
 * a multipart upload are ignored, so retention is set on the completed version and read back.
 */
@Injectable()
export class ArchiveStoreClient implements OnApplicationShutdown {
  private readonly logger = new Logger(ArchiveStoreClient.name);
  private readonly s3: S3Client;
  /** Signs download URLs for S3_PUBLIC_ENDPOINT; the same client as `s3` when it is unset. */
  private readonly presigner: S3Client;
  readonly bucket: string;
  /** The part buffers of every upload this process runs at once: ARCHIVE_UPLOAD_BUFFER_MB. */
  readonly partBuffers: PartBufferPool;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const { s3 } = config;
    this.bucket = s3.bucket;
    this.partBuffers = new PartBufferPool(config.archive.uploadBufferBytes);
    this.s3 = new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: s3.forcePathStyle,
      credentials:
        s3.accessKeyId && s3.secretAccessKey
          ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
          : undefined,
      // The SDK's default CRC32 on streaming bodies goes in aws-chunked trailers, which Ceph 16
      // does not speak reliably: every write computes its own checksums instead (see above).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 4,
      // A store that stops answering must fail the request, not hang it: a hung upload would keep
      // its teardown's lease alive forever, so no other worker could ever take it over.
      requestHandler: {
        connectionTimeout: S3_CONNECT_TIMEOUT_MS,
        requestTimeout: S3_IDLE_TIMEOUT_MS,
        throwOnRequestTimeout: true, // without it, this SDK only logs a warning and keeps waiting
      },
    });
    // A presigned URL names the host it was signed for (SigV4 signs the Host header), so URLs for
    // callers who reach the store elsewhere are signed by a client of that endpoint. It only
    // signs: it never sends a request.
    this.presigner =
      s3.publicEndpoint === undefined || s3.publicEndpoint === s3.endpoint
        ? this.s3
        : new S3Client({
            region: s3.region,
            endpoint: s3.publicEndpoint,
            forcePathStyle: s3.forcePathStyle,
            credentials:
              s3.accessKeyId && s3.secretAccessKey
                ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
                : undefined,
          });
  }

  /** After the workers stopped (beforeApplicationShutdown): a running step may still need S3. */
  onApplicationShutdown(): void {
    this.s3.destroy();
    if (this.presigner !== this.s3) this.presigner.destroy();
  }

  /**
   * A small object in one PutObject, with its checksums, its Object Lock retention when one is
   * given, and `If-None-Match: *`. Throws ObjectExistsError when the store says the key exists.
   */
  async putBytes(
    key: string,
    body: Buffer,
    contentType: string,
    options: WriteOptions = {},
  ): Promise<StoredObject> {
    return this.putObject(key, body, contentType, options);
  }

  private async putObject(
    key: string,
    body: Buffer,
    contentType: string,
    options: WriteOptions,
  ): Promise<StoredObject> {
    const { retention, metadata, fence, signal } = options;
    await fence?.();
    const out = await this.call('put', key, () =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ContentLength: body.length,
          ContentMD5: digest('md5', body),
          ChecksumSHA256: digest('sha256', body),
          IfNoneMatch: '*',
          Metadata: metadata,
          ObjectLockMode: retention?.mode,
          ObjectLockRetainUntilDate: retention?.retainUntil,
        }),
        { abortSignal: signal },
      ),
    );
    return { key, versionId: out.VersionId ?? null };
  }

  /**
   * Streams `body` into the store: one PutObject when it fits in one part, otherwise a multipart
   * upload. Parts are cut into buffers from `partBuffers`, the budget every running upload shares:
   * `body` is read on while earlier parts upload (at most PARTS_IN_FLIGHT of them at once), and
   * reading waits only when the budget is spent, so memory stays within ARCHIVE_UPLOAD_BUFFER_MB
   * however many exports run and however slow the store is. A failed upload is aborted, so no part
   * outlives it; the key appears only at CompleteMultipartUpload, which is fenced.
   */
  async putStream(
    key: string,
    body: Readable,
    contentType: string,
    partSizeBytes: number,
    options: StreamWriteOptions = {},
  ): Promise<StoredObject> {
    try {
      return await this.uploadStream(key, body, contentType, partSizeBytes, options);
    } catch (error) {
      // the producer writing into `body` must learn that nobody reads it any more
      body.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }

  private async uploadStream(
    key: string,
    body: Readable,
    contentType: string,
    partSizeBytes: number,
    options: StreamWriteOptions,
  ): Promise<StoredObject> {
    // aborted when a part fails: reading stops waiting for buffers that would only be thrown away
    const failed = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
    const parts = inParts(body, partSizeBytes, this.partBuffers, signal);
    const first = await parts.next();
    if (first.done || first.value.last) {
      const metadata = { ...options.metadata, ...options.metadataAtEnd?.() };
      const whole = first.done ? Buffer.alloc(0) : first.value.bytes;
      try {
        return await this.putObject(key, whole, contentType, { ...options, metadata });
      } finally {
        if (!first.done) this.partBuffers.release(first.value.buffer);
      }
    }
    const { retention, metadata, fence } = options;
    let uploadId: string | undefined;
    try {
      const created = await this.call('upload', key, () =>
        this.s3.send(
          new CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            ContentType: contentType,
            Metadata: metadata,
            ObjectLockMode: retention?.mode,
            ObjectLockRetainUntilDate: retention?.retainUntil,
          }),
          { abortSignal: options.signal },
        ),
      );
      uploadId = created.UploadId;
      if (!uploadId) throw this.wrap('upload', key, new Error('CreateMultipartUpload returned no UploadId'));
    } catch (error) {
      this.partBuffers.release(first.value.buffer);
      await parts.return(undefined);
      throw error;
    }
    const id = uploadId;
    const completed: CompletedPart[] = [];
    const slots = new Slots(PARTS_IN_FLIGHT);
    const sending: Promise<void>[] = [];
    // the first part that fails aborts `failed`, with its error as the reason
    const partFailed = (): boolean => failed.signal.aborted;
    const send = (partNumber: number, part: Part): void => {
      const sent = slots
        .run(async () => {
          if (partFailed()) return; // another part failed: this one is not sent
          const out = await this.call('upload', key, () =>
            this.s3.send(
              new UploadPartCommand({
                Bucket: this.bucket,
                Key: key,
                UploadId: id,
                PartNumber: partNumber,
                Body: part.bytes,
                ContentLength: part.bytes.length,
                ContentMD5: digest('md5', part.bytes),
              }),
              { abortSignal: options.signal },
            ),
          );
          completed[partNumber - 1] = { PartNumber: partNumber, ETag: out.ETag };
        })
        .catch((error: unknown) => {
          if (partFailed()) return;
          // stops the reading: a wait for a buffer, and the producer of `body`
          failed.abort(error);
          body.destroy(error instanceof Error ? error : new Error(String(error)));
        })
        .finally(() => this.partBuffers.release(part.buffer));
      sending.push(sent);
    };
    try {
      send(1, first.value);
      let partNumber = 1;
      try {
        for (let next = await parts.next(); !next.done; next = await parts.next()) {
          partNumber += 1;
          send(partNumber, next.value);
          if (partFailed()) break;
        }
      } finally {
        await parts.return(undefined); // releases a buffer it was filling
        await Promise.all(sending);
      }
      if (partFailed()) throw failed.signal.reason;
      await fence?.();
      await this.call('upload', key, () =>
        this.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: id,
            MultipartUpload: { Parts: completed },
            IfNoneMatch: '*',
          }),
          { abortSignal: options.signal },
        ),
      );
    } catch (error) {
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: id }))
        .catch((abortError: unknown) => {
          // an upload left behind holds parts, not an object: a bucket lifecycle rule removes it
          this.logger.warn(`aborting the upload of ${key} failed: ${describe(abortError)}`);
        });
      throw partFailed() ? failed.signal.reason : error;
    }
    // Some stores (Ceph) return an empty ETag and no version from a completed multipart upload:
    // the version is read back from the object itself.
    const head = await this.head(key);
    if (!head)
      throw new DomainError('ARCHIVE_WRITE_FAILED', `${key} is missing right after its upload`, {
        retryable: true,
      });
    return { key, versionId: head.versionId };
  }

  // A multipart upload driven part by part, for an export that must survive a crash: the caller
  // records each part (its number and ETag) and a later attempt continues the same upload.

  /** Starts a multipart upload; the key appears only once it is completed. */
  async createUpload(key: string, contentType: string, options: WriteOptions = {}): Promise<string> {
    const { retention, metadata, signal } = options;
    const created = await this.call('upload', key, () =>
      this.s3.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          ContentType: contentType,
          Metadata: metadata,
          ObjectLockMode: retention?.mode,
          ObjectLockRetainUntilDate: retention?.retainUntil,
        }),
        { abortSignal: signal },
      ),
    );
    if (!created.UploadId)
      throw this.wrap('upload', key, new Error('CreateMultipartUpload returned no UploadId'));
    return created.UploadId;
  }

  /** One part, with its Content-MD5; answers its ETag. Sending a part number again replaces it. */
  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    bytes: Buffer,
    signal?: AbortSignal,
  ): Promise<string> {
    const out = await this.call('upload', key, () =>
      this.s3.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: bytes,
          ContentLength: bytes.length,
          ContentMD5: digest('md5', bytes),
        }),
        { abortSignal: signal },
      ),
    );
    if (!out.ETag) throw this.wrap('upload', key, new Error(`UploadPart ${partNumber} returned no ETag`));
    return out.ETag;
  }

  /** The parts the store holds for an upload, in order; null when the upload is gone (aborted, expired, completed). */
  async listParts(key: string, uploadId: string): Promise<UploadedPart[] | null> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    try {
      for (;;) {
        const page = await this.s3.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        );
        for (const part of page.Parts ?? []) {
          if (part.PartNumber !== undefined && part.ETag !== undefined)
            parts.push({ partNumber: part.PartNumber, etag: part.ETag, bytes: part.Size ?? 0 });
        }
        if (!page.IsTruncated || page.NextPartNumberMarker === undefined) break;
        marker = page.NextPartNumberMarker;
      }
    } catch (error) {
      if (errorName(error) === 'NoSuchUpload' || isNotFound(error)) return null;
      throw this.wrap('list parts', key, error);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Completes an upload (fenced, `If-None-Match: *`); its version is read back from the object. */
  async completeUpload(
    key: string,
    uploadId: string,
    parts: ReadonlyArray<Pick<UploadedPart, 'partNumber' | 'etag'>>,
    options: Pick<WriteOptions, 'fence' | 'signal'> = {},
  ): Promise<StoredObject> {
    await options.fence?.();
    await this.call('upload', key, () =>
      this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          IfNoneMatch: '*',
        }),
        { abortSignal: options.signal },
      ),
    );
    const head = await this.head(key);
    if (!head)
      throw new DomainError('ARCHIVE_WRITE_FAILED', `${key} is missing right after its upload`, {
        retryable: true,
      });
    return { key, versionId: head.versionId };
  }

  /** Gives up an upload and its parts; one already gone is no failure. */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      if (errorName(error) === 'NoSuchUpload' || isNotFound(error)) return;
      throw this.wrap('abort upload', key, error);
    }
  }

  async head(key: string, versionId?: string | null): Promise<ObjectHead | null> {
    try {
      const out = await this.s3.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId ?? undefined }),
      );
      return {
        versionId: out.VersionId ?? null,
        bytes: out.ContentLength ?? 0,
        metadata: out.Metadata ?? {},
      };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.wrap('head', key, error);
    }
  }

  async getStream(key: string, versionId: string | null): Promise<Readable> {
    const out = await this.call('get', key, () =>
      this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId ?? undefined }),
      ),
    );
    if (!out.Body) throw new DomainError('ARCHIVE_VERIFICATION_FAILED', `${key} has no body`);
    return out.Body as Readable;
  }

  async getBytes(key: string, versionId: string | null): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.getStream(key, versionId)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * Every key under `prefix` (current versions), in the store's order (ascending UTF-8), one page of
   * up to 1000 keys fetched at a time; `startAfter` skips the keys up to and including it.
   */
  async *listKeys(prefix: string, startAfter?: string): AsyncGenerator<string> {
    let continuationToken: string | undefined;
    do {
      const page = await this.call('list', prefix, () =>
        this.s3.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            StartAfter: continuationToken ? undefined : startAfter,
            ContinuationToken: continuationToken,
          }),
        ),
      );
      for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  async setRetention(object: StoredObject, retention: Retention): Promise<void> {
    await this.call('retention', object.key, () =>
      this.s3.send(
        new PutObjectRetentionCommand({
          Bucket: this.bucket,
          Key: object.key,
          VersionId: object.versionId ?? undefined,
          Retention: { Mode: retention.mode, RetainUntilDate: retention.retainUntil },
        }),
      ),
    );
  }

  async getRetention(object: StoredObject): Promise<Retention | null> {
    try {
      const out = await this.s3.send(
        new GetObjectRetentionCommand({
          Bucket: this.bucket,
          Key: object.key,
          VersionId: object.versionId ?? undefined,
        }),
      );
      const mode = out.Retention?.Mode;
      const until = out.Retention?.RetainUntilDate;
      if ((mode !== 'COMPLIANCE' && mode !== 'GOVERNANCE') || !until) return null;
      return { mode, retainUntil: new Date(until) };
    } catch (error) {
      if (isNotFound(error) || errorName(error) === 'NoSuchObjectLockConfiguration') return null;
      throw this.wrap('retention', object.key, error);
    }
  }

  async presign(object: StoredObject, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(
      this.presigner,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: object.key,
        VersionId: object.versionId ?? undefined,
      }),
      { expiresIn: expiresInSeconds },
    );
  }

  /** For /readyz: the bucket exists, is reachable, and has Object Lock when a lock mode is set. */
  async checkBucket(lockMode: ArchiveLockMode): Promise<BucketCheck> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      return {
        ok: false,
        reason: isNotFound(error) ? `bucket ${this.bucket} does not exist` : describe(error),
      };
    }
    if (lockMode === 'NONE') {
      const versioning = await this.s3
        .send(new GetBucketVersioningCommand({ Bucket: this.bucket }))
        .catch(() => null);
      return versioning?.Status === 'Enabled'
        ? { ok: true }
        : { ok: true, reason: 'bucket versioning is off: archive objects are protected by unique keys only' };
    }
    try {
      const out = await this.s3.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
      if (out.ObjectLockConfiguration?.ObjectLockEnabled !== 'Enabled') {
        return { ok: false, reason: `bucket ${this.bucket} does not have Object Lock enabled` };
      }
      return { ok: true };
    } catch (error) {
      return {
        ok: false,
        reason: `bucket ${this.bucket} has no Object Lock configuration (${describe(error)})`,
      };
    }
  }

  private async call<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.wrap(operation, key, error);
    }
  }

  private wrap(operation: string, key: string, error: unknown): DomainError {
    if (error instanceof DomainError) return error;
    const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
    if (status === 412 && (operation === 'put' || operation === 'upload')) return new ObjectExistsError(key);
    // Network failures, 5xx and a conflicting concurrent conditional write (409) are worth
    // another attempt: the store was unavailable, or the next attempt finds the key and adopts it.
    const unavailable =
      status === undefined ||
      status >= 500 ||
      status === 429 ||
      errorName(error) === 'ConditionalRequestConflict';
    this.logger.warn(`S3 ${operation} of ${key} failed: ${describe(error)}`);
    return new DomainError(
      unavailable ? 'ARCHIVE_STORE_UNAVAILABLE' : 'ARCHIVE_WRITE_FAILED',
      `S3 ${operation} of ${key} failed: ${describe(error)}`,
      { retryable: unavailable, details: { key, operation, status }, cause: error },
    );
  }
}

/** At most this many parts of one upload are sent at once; more may wait, filled, in the budget. */
const PARTS_IN_FLIGHT = 2;

/** base64 of a digest, as Content-MD5 and x-amz-checksum-sha256 carry it. */
function digest(algorithm: 'md5' | 'sha256', bytes: Buffer): string {
  return createHash(algorithm).update(bytes).digest('base64');
}

/** One part: `bytes` is the filled view of `buffer`, which goes back to the pool once sent. */
interface Part {
  buffer: Buffer;
  bytes: Buffer;
  /** Whether the stream ended with this part. */
  last: boolean;
}

/**
 * The stream cut into parts of exactly `size` bytes (but the last), each copied into a buffer
 * from `pool`: a full part is handed on once the stream shows more bytes (or its end), so the
 * first part tells whether one PutObject will do. A buffer being filled when the consumer stops
 * goes back to the pool.
 */
async function* inParts(
  stream: Readable,
  size: number,
  pool: PartBufferPool,
  signal: AbortSignal,
): AsyncGenerator<Part> {
  let buffer: Buffer | null = null;
  let used = 0;
  try {
    for await (const raw of stream) {
      let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
      while (chunk.length > 0) {
        if (buffer !== null && used === size) {
          const full = buffer;
          buffer = null; // the consumer owns it now
          yield { buffer: full, bytes: full, last: false };
        }
        if (buffer === null) {
          buffer = await pool.acquire(size, signal);
          used = 0;
        }
        const copied = chunk.copy(buffer, used);
        used += copied;
        chunk = chunk.subarray(copied);
      }
    }
    if (buffer !== null) {
      const last = buffer;
      buffer = null;
      yield { buffer: last, bytes: last.subarray(0, used), last: true };
    }
  } finally {
    if (buffer !== null) pool.release(buffer);
  }
}

/** Runs tasks with at most `limit` at once, in the order they were given. */
class Slots {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  if (name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NoSuchVersion')
    return true;
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404;
}

function describe(error: unknown): string {
  return truncate(error instanceof Error ? `${error.name}: ${error.message}` : String(error), 300);
}
