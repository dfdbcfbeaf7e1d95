/**
 * The store client's streamed uploads against the real S3 store: the part buffers of every upload
 * running at once share ARCHIVE_UPLOAD_BUFFER_MB, and a slow store holds the reading back only
 * once that budget is spent.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArchiveStoreClient } from '../../src/archive/archive-store.client.js';
import type { AppConfig } from '../../src/config/app.config.js';
import { S3Proxy } from '../chaos/harness.ts';
import { buildConfig, requireS3, RUN_PREFIX } from '../support/int-env.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** `bytes` of random data, served in 64 KiB chunks as they are asked for; counts what was read. */
function buildSource(bytes: number): { stream: Readable; read: () => number; sha256: () => string } {
  const hash = createHash('sha256');
  let read = 0;
  const stream = new Readable({
    read() {
      if (read >= bytes) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(CHUNK, bytes - read));
      read += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, read: () => read, sha256: () => hash.copy().digest('hex') };
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await sleep(20);
  }
}

describe(ArchiveStoreClient.name, () => {
  let config: AppConfig;
  let s3: S3Client;
  let proxy: S3Proxy | null = null;
  const stores: ArchiveStoreClient[] = [];

  function build(overrides: Record<string, string> = {}): ArchiveStoreClient {
    const store = new ArchiveStoreClient(buildConfig(overrides));
    stores.push(store);
    return store;
  }

  async function sha256Of(key: string): Promise<string> {
    const out = await s3.send(new GetObjectCommand({ Bucket: config.s3.bucket, Key: key }));
    return createHash('sha256')
      .update(await out.Body!.transformToByteArray())
      .digest('hex');
  }

  beforeAll(() => {
    requireS3();
    config = buildConfig();
    s3 = new S3Client({
      region: config.s3.region,
      endpoint: config.s3.endpoint,
      forcePathStyle: config.s3.forcePathStyle,
      credentials: { accessKeyId: config.s3.accessKeyId!, secretAccessKey: config.s3.secretAccessKey! },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  afterEach(async () => {
    await proxy?.stop();
    proxy = null;
  });

  afterAll(() => {
    for (const store of stores) store.onApplicationShutdown();
    s3.destroy();
  });

  it('keeps the part buffers of two concurrent multipart uploads within ARCHIVE_UPLOAD_BUFFER_MB, both intact', async () => {
    const sut = build({ ARCHIVE_PART_SIZE_MB: '5', ARCHIVE_UPLOAD_BUFFER_MB: '12' });
    const sources = [buildSource(23 * MiB), buildSource(17 * MiB)];
    const keys = sources.map(
      (_, i) => `${RUN_PREFIX}store-budget/${randomBytes(6).toString('hex')}-${i}.bin`,
    );
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, sut.partBuffers.bytesAllocated)), 5);

    try {
      await Promise.all(
        sources.map((source, i) =>
          sut.putStream(keys[i]!, source.stream, 'application/octet-stream', 5 * MiB),
        ),
      );
    } finally {
      clearInterval(sampler);
    }

    // 12 MiB holds two 5 MiB parts: never a third, in use or kept free
    expect(sut.partBuffers.peakBytesInUse).toBe(10 * MiB);
    expect(most).toBeLessThanOrEqual(10 * MiB);
    expect(sut.partBuffers.bytesInUse).toBe(0);
    await expect(sha256Of(keys[0]!)).resolves.toBe(sources[0]!.sha256());
    await expect(sha256Of(keys[1]!)).resolves.toBe(sources[1]!.sha256());
  });

  it('reads on while parts wait for a slow store, until the budget is spent, then resumes', async () => {
    proxy = await new S3Proxy(config.s3.endpoint, config.s3.bucket).start();
    let releaseParts: () => void = () => {};
    const held = new Promise<void>((resolve) => (releaseParts = resolve));
    let partsHeld = 0;
    proxy.beforeForward = async (call): Promise<'forward'> => {
      if (call.method === 'PUT' && call.query.includes('partNumber=')) {
        partsHeld += 1;
        await held;
      }
      return 'forward';
    };
    const sut = build({
      S3_ENDPOINT: proxy.url,
      ARCHIVE_PART_SIZE_MB: '5',
      ARCHIVE_UPLOAD_BUFFER_MB: '20',
    });
    const source = buildSource(60 * MiB);
    const key = `${RUN_PREFIX}store-slow/${randomBytes(6).toString('hex')}.bin`;

    const uploaded = sut.putStream(key, source.stream, 'application/octet-stream', 5 * MiB);
    // two parts are being sent (and held by the store); two more are read and wait for a slot
    await until(() => partsHeld === 2 && sut.partBuffers.bytesInUse === 20 * MiB);
    await sleep(300);
    const readWhileHeld = source.read();
    releaseParts();
    await uploaded;

    expect(readWhileHeld).toBeGreaterThanOrEqual(20 * MiB);
    expect(readWhileHeld).toBeLessThan(20 * MiB + 2 * MiB); // the budget, and what streams buffer
    await expect(sha256Of(key)).resolves.toBe(source.sha256());
  });
});
