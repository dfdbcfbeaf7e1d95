/**
 * The AWS-rules proxy in front of the real test store: what it refuses never reaches the store,
 * what it forwards still works (signatures intact), and create-only writes hold although Ceph 16
 * ignores `If-None-Match: *` on a versioned bucket.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { AwsRulesProxy, fetchRefusals } from '../support/aws-rules-proxy.ts';
import {
  defaultRetentionBucketName,
  ensureDefaultRetentionBucket,
} from '../support/default-retention-bucket.ts';
import { requireS3 } from '../support/int-env.ts';
import { sleep, until } from '../support/test-services.ts';

requireS3();
const BUCKET = process.env['S3_BUCKET']!;
const DR_BUCKET = defaultRetentionBucketName(BUCKET);
const PREFIX = `aws-rules-${randomBytes(4).toString('hex')}/`;
const BODY = Buffer.from('{"id":"wfl_1","name":"caf\u00e9 \u2028"}');
const LOCK = {
  ObjectLockMode: 'GOVERNANCE' as const,
  ObjectLockRetainUntilDate: new Date(Date.now() + 3_600_000),
};

function client(endpoint: string, checksums: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED' = 'WHEN_REQUIRED'): S3Client {
  return new S3Client({
    region: process.env['S3_REGION'] ?? 'us-east-1',
    endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1, // a refusal must surface, not be retried
  });
}

/** Sets (or, with null, removes) headers just before signing, as a client that sends them would. */
function withHeaders<C extends { middlewareStack: any }>(
  command: C,
  headers: Record<string, string | null>,
): C {
  command.middlewareStack.addRelativeTo(
    (next: any) => async (args: any) => {
      for (const [name, value] of Object.entries(headers)) {
        if (value === null) delete args.request.headers[name];
        else args.request.headers[name] = value;
      }
      return next(args);
    },
    { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'testHeaders' },
  );
  return command;
}

const NO_CHECKSUM = {
  'x-amz-checksum-crc32': null,
  'x-amz-sdk-checksum-algorithm': null,
  'content-md5': null,
};
const md5 = (body: Buffer) => createHash('md5').update(body).digest('base64');
const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('base64');

/** The store's answer to a request the test expects to fail. */
async function failure(
  sending: Promise<unknown>,
): Promise<{ status?: number; code: string; message: string }> {
  try {
    await sending;
  } catch (error) {
    if (!(error instanceof S3ServiceException)) throw error;
    return { status: error.$metadata.httpStatusCode, code: error.name, message: error.message };
  }
  throw new Error('the request succeeded');
}

describe(AwsRulesProxy.name, () => {
  let sut: AwsRulesProxy;
  let store: S3Client;
  let viaProxy: S3Client;

  beforeAll(async () => {
    store = client(process.env['S3_ENDPOINT']!);
    await ensureDefaultRetentionBucket(store, DR_BUCKET);
    const plain = await store.send(new GetObjectLockConfigurationCommand({ Bucket: BUCKET }));
    if (plain.ObjectLockConfiguration?.Rule)
      throw new Error(`these tests need ${BUCKET} without a default retention rule`);
    sut = await new AwsRulesProxy({ target: process.env['S3_ENDPOINT']! }).start();
    viaProxy = client(sut.url);
  });

  afterAll(async () => {
    viaProxy?.destroy();
    store?.destroy();
    await sut?.stop();
  });

  async function exists(bucket: string, key: string): Promise<boolean> {
    try {
      await store.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return false;
      throw error;
    }
  }

  async function versions(bucket: string, key: string): Promise<number> {
    const out = await store.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    return (out.Versions ?? []).filter((v) => v.Key === key).length;
  }

  async function read(bucket: string, key: string): Promise<Buffer> {
    const out = await store.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  const put = (bucket: string, key: string, extra: Record<string, unknown> = {}) =>
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: BODY, ...extra });

  describe('PutObject with Object Lock parameters', () => {
    it('is refused with 400 InvalidRequest without a checksum, and not written', async () => {
      const key = `${PREFIX}lock/none.json`;

      await expect(failure(viaProxy.send(put(BUCKET, key, LOCK)))).resolves.toEqual({
        status: 400,
        code: 'InvalidRequest',
        message:
          'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
      });
      await expect(exists(BUCKET, key)).resolves.toBe(false);
      expect(sut.refusals.at(-1)).toMatchObject({ key, operation: 'PutObject', code: 'InvalidRequest' });
    });

    it('is written with Content-MD5', async () => {
      const key = `${PREFIX}lock/md5.json`;

      await viaProxy.send(withHeaders(put(BUCKET, key, LOCK), { 'content-md5': md5(BODY) }));

      await expect(read(BUCKET, key)).resolves.toEqual(BODY);
    });

    it('is written with a correct x-amz-checksum-sha256', async () => {
      const key = `${PREFIX}lock/sha256.json`;

      await viaProxy.send(put(BUCKET, key, { ...LOCK, ChecksumAlgorithm: 'SHA256' }));

      await expect(read(BUCKET, key)).resolves.toEqual(BODY);
    });
  });

  describe('checksums', () => {
    it('answers a wrong x-amz-checksum-sha256 with 400 BadDigest, and nothing is written', async () => {
      const key = `${PREFIX}digest/sha256.json`;
      const wrong = withHeaders(put(BUCKET, key), { 'x-amz-checksum-sha256': sha256(Buffer.from('other')) });

      await expect(failure(viaProxy.send(wrong))).resolves.toMatchObject({ status: 400, code: 'BadDigest' });
      await expect(exists(BUCKET, key)).resolves.toBe(false);
    });

    it('answers a wrong x-amz-checksum-crc32 with BadDigest (Ceph 16 alone would store it)', async () => {
      const key = `${PREFIX}digest/crc32.json`;
      const wrong = withHeaders(put(BUCKET, key), { 'x-amz-checksum-crc32': 'AAAAAA==' });

      await expect(failure(viaProxy.send(wrong))).resolves.toMatchObject({ status: 400, code: 'BadDigest' });
      await expect(exists(BUCKET, key)).resolves.toBe(false);
    });

    it('refuses an aws-chunked upload with a message that says why', async () => {
      const key = `${PREFIX}digest/chunked.json`;
      const chunking = client(sut.url, 'WHEN_SUPPORTED');
      try {
        const streamed = put(BUCKET, key, { Body: Readable.from([BODY]), ContentLength: BODY.length });

        const answer = await failure(chunking.send(streamed));

        expect(answer).toMatchObject({ status: 501, code: 'NotImplemented' });
        expect(answer.message).toContain('aws-chunked');
        await expect(exists(BUCKET, key)).resolves.toBe(false);
      } finally {
        chunking.destroy();
      }
    });
  });

  describe('a bucket with a default retention rule', () => {
    it('refuses a PutObject without a checksum, and writes one with a checksum', async () => {
      const key = `${PREFIX}dr/object.json`;

      await expect(failure(viaProxy.send(put(DR_BUCKET, key)))).resolves.toMatchObject({
        status: 400,
        code: 'InvalidRequest',
      });
      await expect(exists(DR_BUCKET, key)).resolves.toBe(false);

      await viaProxy.send(put(DR_BUCKET, key, { ChecksumAlgorithm: 'SHA256' }));
      await expect(read(DR_BUCKET, key)).resolves.toEqual(BODY);
    });

    it('forwards the same PutObject to a bucket without one', async () => {
      const key = `${PREFIX}plain/object.json`;

      await viaProxy.send(put(BUCKET, key));

      await expect(read(BUCKET, key)).resolves.toEqual(BODY);
    });

    it('refuses an UploadPart without a checksum, and takes one with a checksum', async () => {
      const key = `${PREFIX}dr/multipart.bin`;
      const { UploadId } = await viaProxy.send(
        new CreateMultipartUploadCommand({ Bucket: DR_BUCKET, Key: key }),
      );
      const part = (extra: Record<string, unknown> = {}) =>
        new UploadPartCommand({ Bucket: DR_BUCKET, Key: key, UploadId, PartNumber: 1, Body: BODY, ...extra });
      try {
        await expect(failure(viaProxy.send(part()))).resolves.toEqual({
          status: 400,
          code: 'InvalidRequest',
          message:
            'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters',
        });

        const { ETag } = await viaProxy.send(part({ ChecksumAlgorithm: 'SHA256' }));
        await viaProxy.send(
          new CompleteMultipartUploadCommand({
            Bucket: DR_BUCKET,
            Key: key,
            UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
          }),
        );
        await expect(read(DR_BUCKET, key)).resolves.toEqual(BODY);
      } finally {
        await store
          .send(new AbortMultipartUploadCommand({ Bucket: DR_BUCKET, Key: key, UploadId }))
          .catch(() => 'completed: nothing to abort');
      }
    });
  });

  describe('PutObjectRetention and PutObjectLegalHold', () => {
    it('refuses them without a checksum, and takes the checksum the SDK adds', async () => {
      const key = `${PREFIX}retention/object.json`;
      await viaProxy.send(put(BUCKET, key));
      const retention = () =>
        new PutObjectRetentionCommand({
          Bucket: BUCKET,
          Key: key,
          Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 3_600_000) },
        });

      await expect(failure(viaProxy.send(withHeaders(retention(), NO_CHECKSUM)))).resolves.toMatchObject({
        status: 400,
        code: 'InvalidRequest',
      });
      await expect(
        failure(
          viaProxy.send(
            withHeaders(
              new PutObjectLegalHoldCommand({ Bucket: BUCKET, Key: key, LegalHold: { Status: 'OFF' } }),
              NO_CHECKSUM,
            ),
          ),
        ),
      ).resolves.toMatchObject({ status: 400, code: 'InvalidRequest' });
      await expect(viaProxy.send(retention())).resolves.toBeDefined();
    });
  });

  describe('If-None-Match: *', () => {
    it('answers 412 on a key that exists, and the object keeps exactly one version', async () => {
      const key = `${PREFIX}create-only/existing.json`;
      await viaProxy.send(put(BUCKET, key));

      await expect(
        failure(viaProxy.send(put(BUCKET, key, { IfNoneMatch: '*', Body: Buffer.from('second') }))),
      ).resolves.toMatchObject({ status: 412, code: 'PreconditionFailed' });

      await expect(versions(BUCKET, key)).resolves.toBe(1);
      await expect(read(BUCKET, key)).resolves.toEqual(BODY);
      expect(sut.refusals.at(-1)).toMatchObject({ key, status: 412, violation: false });
    });

    it('writes a new key, and a key whose current version is a delete marker', async () => {
      const fresh = `${PREFIX}create-only/new.json`;
      const deleted = `${PREFIX}create-only/deleted.json`;
      await viaProxy.send(put(BUCKET, deleted));
      await viaProxy.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted }));

      await viaProxy.send(put(BUCKET, fresh, { IfNoneMatch: '*' }));
      await viaProxy.send(put(BUCKET, deleted, { IfNoneMatch: '*' }));

      await expect(read(BUCKET, fresh)).resolves.toEqual(BODY);
      await expect(read(BUCKET, deleted)).resolves.toEqual(BODY);
    });

    it('lets exactly one of concurrent create-only writes to one key through', async () => {
      const key = `${PREFIX}create-only/race.json`;

      const outcomes = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) =>
          viaProxy.send(put(BUCKET, key, { IfNoneMatch: '*', Body: Buffer.from(`writer ${i}`) })),
        ),
      );

      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      await expect(versions(BUCKET, key)).resolves.toBe(1);
    });

    it('holds for CompleteMultipartUpload: 412 on an existing key, written on a new one', async () => {
      const existing = `${PREFIX}create-only/multipart-existing.bin`;
      const fresh = `${PREFIX}create-only/multipart-new.bin`;
      await viaProxy.send(put(BUCKET, existing));
      const complete = async (key: string) => {
        const { UploadId } = await viaProxy.send(
          new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }),
        );
        const { ETag } = await viaProxy.send(
          new UploadPartCommand({
            Bucket: BUCKET,
            Key: key,
            UploadId,
            PartNumber: 1,
            Body: Buffer.from('parts'),
          }),
        );
        try {
          return await viaProxy.send(
            new CompleteMultipartUploadCommand({
              Bucket: BUCKET,
              Key: key,
              UploadId,
              IfNoneMatch: '*',
              MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
            }),
          );
        } catch (error) {
          await store.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));
          throw error;
        }
      };

      await expect(failure(complete(existing))).resolves.toMatchObject({
        status: 412,
        code: 'PreconditionFailed',
      });
      await expect(versions(BUCKET, existing)).resolves.toBe(1);
      await expect(read(BUCKET, existing)).resolves.toEqual(BODY);

      await complete(fresh);
      await expect(read(BUCKET, fresh)).resolves.toEqual(Buffer.from('parts'));
    });

    it('answers If-None-Match with an ETag with 501 NotImplemented, as AWS does', async () => {
      const key = `${PREFIX}create-only/etag.json`;

      await expect(failure(viaProxy.send(put(BUCKET, key, { IfNoneMatch: '"abc"' })))).resolves.toMatchObject(
        {
          status: 501,
          code: 'NotImplemented',
        },
      );
      await expect(exists(BUCKET, key)).resolves.toBe(false);
    });
  });

  describe('connection cuts (the chaos S3Proxy in front)', () => {
    it('neither forwards nor counts as a refusal a request whose client went away mid-body', async () => {
      const key = `${PREFIX}cut/half.json`;
      const refusals = sut.refusals.length;
      const { hostname, port } = new URL(sut.url);
      const socket = connect(Number(port), hostname);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(
        `PUT /${BUCKET}/${key} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Length: 100\r\n\r\n0123456789`,
      );
      await until('the proxy to see the request', () => sut.requests.some((r) => r.key === key));

      socket.destroy();
      await sleep(200);

      expect(sut.refusals).toHaveLength(refusals);
      expect(sut.requests.find((r) => r.key === key)?.status).toBe(0);
      await expect(exists(BUCKET, key)).resolves.toBe(false);
    });
  });

  describe('the side channel', () => {
    it('lists the refusals since an index, for a test that did not start the proxy', async () => {
      const { total } = await fetchRefusals(sut.url);
      const key = `${PREFIX}side-channel/none.json`;
      await failure(viaProxy.send(put(BUCKET, key, LOCK)));

      const since = await fetchRefusals(sut.url, total);

      expect(since.total).toBe(total + 1);
      expect(since.refusals).toEqual([
        expect.objectContaining({
          method: 'PUT',
          bucket: BUCKET,
          key,
          code: 'InvalidRequest',
          violation: true,
        }),
      ]);
      expect(sut.requests.some((r) => r.key === key && r.status === 400)).toBe(true);
    });
  });
});
