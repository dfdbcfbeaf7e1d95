import { GetObjectLockConfigurationCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from '@jest/globals';
import type { ProxiedRequest } from '../support/aws-rules-proxy.ts';
import { s3 } from '../support/e2e-harness.js';

/**
 * The tier's own wiring (test/support/e2e-global-setup.ts): if it came undone, every other e2e
 * test would still pass on Ceph while sending requests AWS refuses.
 */
describe('the e2e tier talks to S3 as AWS would answer (e2e)', () => {
  it('sends every S3 request through the AWS-rules proxy, to a bucket with a default retention rule', async () => {
    const proxyUrl = process.env['AWS_RULES_PROXY_URL'];
    expect(proxyUrl).toBeDefined();
    expect(process.env['S3_ENDPOINT']).toBe(proxyUrl);

    const requests = async (since: number) =>
      (await (await fetch(`${proxyUrl}/__aws-rules/requests?since=${since}`)).json()) as {
        total: number;
        requests: ProxiedRequest[];
      };
    const before = (await requests(Number.MAX_SAFE_INTEGER)).total;

    const out = await s3().send(new GetObjectLockConfigurationCommand({ Bucket: process.env['S3_BUCKET'] }));

    expect(out.ObjectLockConfiguration?.Rule?.DefaultRetention).toEqual({ Mode: 'GOVERNANCE', Days: 1 });
    expect((await requests(before)).requests).toContainEqual(
      expect.objectContaining({
        method: 'GET',
        bucket: process.env['S3_BUCKET'],
        query: 'object-lock=',
        status: 200,
      }),
    );
  });
});
