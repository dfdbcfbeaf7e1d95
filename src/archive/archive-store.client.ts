import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { DomainError } from '../common/domain-error.js';
import type { AppConfig, ArchiveLockMode } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';

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

export interface BucketCheck {
  ok: boolean;
  reason?: string;
}

/**
 * The S3 archive store: the only class that talks to S3. It never creates the bucket (the
 * operator owns it) and never deletes an object.
 *
 * Written against what Ceph's gateway (our test store) does differently from AWS: lock headers on
 * a multipart upload are ignored, so retention is set on the completed version and read back;
 * checksum headers are ignored, so the archive computes and verifies SHA-256 itself.
 */
@Injectable()
export class ArchiveStoreClient implements OnApplicationShutdown {
  private readonly logger = new Logger(ArchiveStoreClient.name);
  private readonly s3: S3Client;
  readonly bucket: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const { s3 } = config;
    this.bucket = s3.bucket;
    this.s3 = new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: s3.forcePathStyle,
      credentials:
        s3.accessKeyId && s3.secretAccessKey
          ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
          : undefined,
      // S3-compatible stores differ in their support of the SDK's default CRC checksums and
      // aws-chunked trailers; our own SHA-256 is what we rely on.
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
  }

  /** After the workers stopped (beforeApplicationShutdown): a running step may still need S3. */
  onApplicationShutdown(): void {
    this.s3.destroy();
  }

  /** A small object in one PutObject, with its Object Lock retention when one is given. */
  async putBytes(
    key: string,
    body: Buffer,
    contentType: string,
    retention?: Retention,
  ): Promise<StoredObject> {
    const out = await this.call('put', key, () =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ContentLength: body.length,
          ObjectLockMode: retention?.mode,
          ObjectLockRetainUntilDate: retention?.retainUntil,
        }),
      ),
    );
    return { key, versionId: out.VersionId ?? null };
  }

  /**
   * Streams `body` into the store through a multipart upload: memory stays at about
   * `queueSize × partSize` whatever the object's size.
   */
  async putStream(
    key: string,
    body: Readable,
    contentType: string,
    partSizeBytes: number,
  ): Promise<StoredObject> {
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: partSizeBytes,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await this.call('upload', key, () => upload.done());
    // Some stores (Ceph) return an empty ETag and no version from a completed multipart upload:
    // the version is read back from the object itself.
    const head = await this.head(key);
    if (!head)
      throw new DomainError('ARCHIVE_WRITE_FAILED', `${key} is missing right after its upload`, {
        retryable: true,
      });
    return { key, versionId: head.versionId };
  }

  async head(
    key: string,
    versionId?: string | null,
  ): Promise<{ versionId: string | null; bytes: number } | null> {
    try {
      const out = await this.s3.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId ?? undefined }),
      );
      return { versionId: out.VersionId ?? null, bytes: out.ContentLength ?? 0 };
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
      this.s3,
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
    // Network failures and 5xx are the store being unavailable: a later attempt may succeed.
    const unavailable = status === undefined || status >= 500 || status === 429;
    this.logger.warn(`S3 ${operation} of ${key} failed: ${describe(error)}`);
    return new DomainError(
      unavailable ? 'ARCHIVE_STORE_UNAVAILABLE' : 'ARCHIVE_WRITE_FAILED',
      `S3 ${operation} of ${key} failed: ${describe(error)}`,
      { retryable: unavailable, details: { key, operation, status }, cause: error },
    );
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
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 300);
  return String(error).slice(0, 300);
}
