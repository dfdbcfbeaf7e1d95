/**
 * scripts/s3-create-bucket.mjs, the bucket init of docker-compose.yml and scripts/s3-local.sh,
 * against the real S3 store: it creates the bucket with Object Lock, accepts an existing bucket
 * that has it, and fails on an existing bucket without it (the service would refuse that bucket
 * with a lock mode set, and Object Lock cannot be switched on later on every store).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requireS3 } from '../support/int-env.js';

requireS3();
const script = fileURLToPath(new URL('../../scripts/s3-create-bucket.mjs', import.meta.url));
const s3 = new S3Client({
  region: process.env['S3_REGION'] ?? 'us-east-1',
  endpoint: process.env['S3_ENDPOINT'],
  forcePathStyle: true,
});
const created: string[] = [];

function bucketName(): string {
  const name = `it-init-${randomBytes(5).toString('hex')}`;
  created.push(name);
  return name;
}

async function runInit(bucket: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(process.execPath, [script], {
      env: { ...process.env, S3_BUCKET: bucket },
    });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? '' };
  }
}

describe('s3-create-bucket.mjs', () => {
  afterAll(async () => {
    // empty buckets only: nothing is written into them
    for (const bucket of created) await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    s3.destroy();
  });

  it('creates a bucket with Object Lock, and accepts it when run again', async () => {
    const bucket = bucketName();
    await expect(runInit(bucket)).resolves.toMatchObject({ code: 0 });
    const lock = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    expect(lock.ObjectLockConfiguration?.ObjectLockEnabled).toBe('Enabled');
    await expect(runInit(bucket)).resolves.toMatchObject({ code: 0 });
  });

  it('fails on an existing bucket without Object Lock, naming it', async () => {
    const bucket = bucketName();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const outcome = await runInit(bucket);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(`bucket ${bucket} exists without Object Lock`);
  });
});
