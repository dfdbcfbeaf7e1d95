/**
 * The bucket set up the way compliance teams set up AWS: Object Lock with a default retention
 * rule. On AWS such a bucket refuses every PutObject and UploadPart without a checksum, which is
 * why the e2e tier (and the AWS-rules proxy's own tests) write to one.
 */
import {
  CreateBucketCommand,
  GetObjectLockConfigurationCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** Beside the run's own bucket, so runs against different stores or buckets never share one. */
export function defaultRetentionBucketName(bucket: string): string {
  return `${bucket}-dr`;
}

/** Creates the bucket with Object Lock and a GOVERNANCE default retention of one day. Idempotent. */
export async function ensureDefaultRetentionBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
  // The SDK adds the checksum AWS requires here (the operation is httpChecksumRequired).
  await s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
      },
    }),
  );
  const out = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
  const rule = out.ObjectLockConfiguration?.Rule?.DefaultRetention;
  if (rule?.Mode !== 'GOVERNANCE' || rule.Days !== 1)
    throw new Error(`bucket ${bucket} did not keep its default retention rule: ${JSON.stringify(out)}`);
}
