// Creates the archive bucket with S3 Object Lock enabled, for local stores (scripts/s3-local.sh)
// and operators alike. Idempotent: a bucket that already exists is fine, as long as it has Object
// Lock, which the service requires whenever ARCHIVE_LOCK_MODE is set and which cannot be switched
// on later on every store.
//
// Environment: S3_BUCKET (required), S3_ENDPOINT, S3_REGION (default us-east-1),
// S3_FORCE_PATH_STYLE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or the SDK's default chain).
//   node scripts/s3-create-bucket.mjs
import {
  CreateBucketCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';

const bucket = process.env.S3_BUCKET;
if (!bucket) {
  console.error('s3-create-bucket: S3_BUCKET is not set');
  process.exit(2);
}
const endpoint = process.env.S3_ENDPOINT || undefined;
const s3 = new S3Client({
  region: process.env.S3_REGION || 'us-east-1',
  endpoint,
  forcePathStyle: endpoint !== undefined || process.env.S3_FORCE_PATH_STYLE === 'true',
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function createBucket() {
  // A gateway that has just started may answer 5xx or drop connections for a moment.
  for (let attempt = 1; ; attempt++) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
      return 'ready';
    } catch (err) {
      if (err.name === 'BucketAlreadyOwnedByYou') return 'ready';
      if (err.name === 'BucketAlreadyExists') return 'ready';
      const status = err.$metadata?.httpStatusCode;
      const transient = status === undefined || status >= 500;
      if (!transient || attempt >= 20) throw err;
      await sleep(500);
    }
  }
}

async function lockEnabled() {
  try {
    const out = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    return out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
  } catch (err) {
    if (err.name === 'ObjectLockConfigurationNotFoundError') return false;
    throw err;
  }
}

try {
  const outcome = await createBucket();
  if (!(await lockEnabled())) {
    console.error(
      `s3-create-bucket: bucket ${bucket} exists without Object Lock; ` +
        'the service refuses it when ARCHIVE_LOCK_MODE is set. Use another S3_BUCKET.',
    );
    process.exit(1);
  }
  const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  console.error(
    `s3-create-bucket: bucket ${bucket} ${outcome}, Object Lock enabled, versioning ${versioning.Status}`,
  );
} catch (err) {
  console.error(`s3-create-bucket: ${err.name}: ${err.message}`);
  process.exit(1);
} finally {
  s3.destroy();
}
