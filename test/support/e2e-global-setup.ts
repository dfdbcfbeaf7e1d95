/**
 * The e2e tier's global set-up: every S3 request of the tier (the service's, the tests' own and
 * the chaos S3Proxy's, which forwards to S3_ENDPOINT) goes through the AWS-rules proxy, to a bucket
 * with a default retention rule, so a request AWS would refuse fails the test that made it
 * (aws-rules-guard.ts) although Ceph accepts it.
 *
 * Jest runs this in its own process before any test file, and the test files see its changes to
 * process.env: S3_ENDPOINT (the proxy), S3_BUCKET (`<S3_BUCKET>-dr`), AWS_RULES_PROXY_URL, and
 * AWS_RULES_PROXY_TARGET (the store itself).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { AwsRulesProxy } from './aws-rules-proxy.ts';
import { defaultRetentionBucketName, ensureDefaultRetentionBucket } from './default-retention-bucket.ts';

/** Shared with e2e-global-teardown.ts: jest runs both in the same process and global scope. */
export const PROXY_GLOBAL = '__awsRulesProxy';

export default async function setUpE2eTier(): Promise<void> {
  // In watch mode this runs again in the same process, where S3_* already name the proxy and bucket.
  const rerun = process.env['AWS_RULES_PROXY_TARGET'] !== undefined;
  const target = rerun ? process.env['AWS_RULES_PROXY_TARGET'] : process.env['S3_ENDPOINT'];
  const base = process.env['S3_BUCKET'];
  const bucket = rerun ? base : base && defaultRetentionBucketName(base);
  if (!target || !bucket)
    throw new Error('the e2e tier needs S3_ENDPOINT and S3_BUCKET (scripts/test.sh exports them)');

  const store = new S3Client({
    region: process.env['S3_REGION'] ?? 'us-east-1',
    endpoint: target,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    await ensureDefaultRetentionBucket(store, bucket);
  } finally {
    store.destroy();
  }
  const previous = (globalThis as Record<string, unknown>)[PROXY_GLOBAL] as AwsRulesProxy | undefined;
  await previous?.stop();
  const proxy = await new AwsRulesProxy({ target }).start();
  (globalThis as Record<string, unknown>)[PROXY_GLOBAL] = proxy;

  process.env['AWS_RULES_PROXY_TARGET'] = target;
  process.env['AWS_RULES_PROXY_URL'] = proxy.url;
  process.env['S3_ENDPOINT'] = proxy.url;
  process.env['S3_BUCKET'] = bucket;
  process.stderr.write(
    `\ne2e: S3 through the AWS-rules proxy ${proxy.url} → ${target}, bucket ${bucket} (default retention GOVERNANCE 1 day)\n`,
  );
}
