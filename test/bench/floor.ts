/**
 * The floor: what the same work costs done bare, measured in the same run against the same
 * simulator and the same bucket. The service cannot export faster than it can fetch the pages
 * (at the concurrency it fetches them) nor faster than it can compress and upload the bytes.
 *
 * - fetch: an undici Pool (as the service's client uses) reading every lead page in full, with
 *   no parsing, sequentially or with several requests in flight;
 * - gzip alone: the NDJSON through zlib's gzip at the service's level, into nothing;
 * - gzip + upload: the same, streamed into a multipart upload of the service's part size with as
 *   many parts in flight as the service allows, each part with its Content-MD5 (which a bucket
 *   with Object Lock requires on AWS); one PutObject when it fits in one part, as the service does.
 */
import {
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { Pool } from 'undici';

export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
}

export function s3ClientFor(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials:
      settings.accessKeyId && settings.secretAccessKey
        ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
        : undefined,
    // as the service: checksums computed over buffered bodies, no aws-chunked trailers
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function seconds(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}

/** Lead pages 1..pages of one workflow, `inFlight` requests at a time; seconds for all of them. */
export async function fetchFloor(
  simulator: { url: string; apiKey: string },
  workflowId: string,
  pages: number,
  inFlight: number,
): Promise<{ seconds: number; bytes: number }> {
  const pool = new Pool(simulator.url);
  let next = 1;
  let bytes = 0;
  const startedAt = performance.now();
  try {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let page = next++; page <= pages; page = next++) {
          const response = await pool.request({
            method: 'GET',
            path: `/v1/workflows/${workflowId}/leads?page=${page}&limit=100`,
            headers: { authorization: `Bearer ${simulator.apiKey}` },
          });
          const body = await response.body.arrayBuffer();
          if (response.statusCode !== 200)
            throw new Error(`floor: page ${page} answered ${response.statusCode}`);
          bytes += body.byteLength;
        }
      }),
    );
    return { seconds: seconds(startedAt), bytes };
  } finally {
    await pool.close();
  }
}

/** The NDJSON compressed and thrown away: what gzip alone costs at this level. */
export async function gzipFloor(
  ndjson: readonly Buffer[],
  level: number,
): Promise<{ seconds: number; bytes: number }> {
  let bytes = 0;
  const startedAt = performance.now();
  await pipeline(
    Readable.from(ndjson),
    createGzip({ level }),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done();
      },
    }),
  );
  return { seconds: seconds(startedAt), bytes };
}

/** The stream cut into buffers of exactly `size` bytes, but the last (as the service cuts parts). */
async function* inParts(stream: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const raw of stream) {
    let chunk = raw;
    while (heldBytes + chunk.length >= size) {
      const take = size - heldBytes;
      held.push(chunk.subarray(0, take));
      yield Buffer.concat(held, size);
      chunk = chunk.subarray(take);
      held = [];
      heldBytes = 0;
    }
    if (chunk.length > 0) {
      held.push(chunk);
      heldBytes += chunk.length;
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('base64');

/**
 * The NDJSON gzipped and uploaded to `key`, compression and upload overlapping; the object is
 * deleted afterwards (it carries no retention). Seconds from the first byte in to the upload's end.
 */
export async function gzipUploadFloor(
  s3: S3Client,
  bucket: string,
  key: string,
  ndjson: readonly Buffer[],
  options: { gzipLevel: number; partSizeBytes: number; partsInFlight: number },
): Promise<{ seconds: number; bytes: number; parts: number }> {
  const startedAt = performance.now();
  const gzip = createGzip({ level: options.gzipLevel });
  const feeding = pipeline(Readable.from(ndjson), gzip);
  const parts = inParts(gzip, options.partSizeBytes)[Symbol.asyncIterator]();
  let bytes = 0;
  let count = 0;
  let versionId: string | undefined;
  const first = await parts.next();
  const second = first.done ? first : await parts.next();
  if (first.done || second.done) {
    const whole = first.done ? Buffer.alloc(0) : first.value;
    const out = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: whole,
        ContentMD5: md5(whole),
        ContentType: 'application/gzip',
      }),
    );
    await feeding;
    versionId = out.VersionId;
    bytes = whole.length;
    count = 1;
  } else {
    const created = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/gzip' }),
    );
    const uploadId = created.UploadId;
    const completed: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    const send = (partNumber: number, body: Buffer): void => {
      bytes += body.length;
      count += 1;
      const sending = s3
        .send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
            ContentMD5: md5(body),
          }),
        )
        .then((out) => {
          completed[partNumber - 1] = { PartNumber: partNumber, ETag: out.ETag };
        });
      const tracked = sending.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };
    send(1, first.value);
    send(2, second.value);
    let partNumber = 2;
    for (let next = await parts.next(); !next.done; next = await parts.next()) {
      while (inFlight.size >= options.partsInFlight) await Promise.race(inFlight);
      partNumber += 1;
      send(partNumber, next.value);
    }
    await Promise.all(inFlight);
    await feeding;
    const out = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: completed },
      }),
    );
    versionId = out.VersionId;
  }
  const elapsed = seconds(startedAt);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return { seconds: elapsed, bytes, parts: count };
}

/** An object's bytes, gunzipped, as the chunks zlib produced (the archive's NDJSON, exactly). */
export async function readGunzipped(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId: string | null,
): Promise<{ chunks: Buffer[]; gzipBytes: number; bytes: number }> {
  const out = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId ?? undefined }),
  );
  if (!out.Body) throw new Error(`${key} has no body`);
  const chunks: Buffer[] = [];
  let gzipBytes = 0;
  let bytes = 0;
  await pipeline(
    out.Body as Readable,
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        gzipBytes += chunk.length;
        done(null, chunk);
      },
    }),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        chunks.push(chunk);
        done();
      },
    }),
  );
  return { chunks, gzipBytes, bytes };
}
