/**
 * S3_PUBLIC_ENDPOINT: the archive's presigned download URLs name the address callers reach the
 * store at, which may differ from the service's own (in docker-compose.yml the service talks to
 * http://s3:8333 and the host downloads from http://127.0.0.1:8333). Here the service talks to the
 * store through the AWS-rules proxy, and callers download from the store directly.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';
import {
  api,
  KEYS,
  resetDatabase,
  type RunningService,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';

describe('presigned archive URLs (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  // the store itself, behind the proxy the service's S3_ENDPOINT names (e2e-global-setup.ts)
  const publicEndpoint = process.env['AWS_RULES_PROXY_TARGET'] ?? '';

  beforeAll(async () => {
    if (!publicEndpoint.startsWith('http://'))
      throw new Error('AWS_RULES_PROXY_TARGET is not set: run the e2e tier through its global set-up');
    sim = new DialnexaSimulator({ rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url, { S3_PUBLIC_ENDPOINT: publicEndpoint }));
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
  });

  it('name S3_PUBLIC_ENDPOINT, and download there what the manifest lists', async () => {
    const client = api(service.url);
    const workflowId = sim.addWorkflow({ nodes: 2, edges: 1, leads: 30 });
    const created = await client.create({ workflowId, reason: 'presigned URL check', dryRun: true });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done['status']).toBe('completed');

    const described = await client.call<{
      manifest: { objects: { key: string; sha256: string }[] };
      objects: { key: string; url: string }[];
    }>('GET', `/v1/teardowns/${String(created.body['id'])}/archive`, { key: KEYS.auditor });
    expect(described.status).toBe(200);
    expect(described.body.objects.length).toBe(described.body.manifest.objects.length);
    for (const object of described.body.objects) {
      expect(new URL(object.url).origin).toBe(new URL(publicEndpoint).origin);
      const download = await fetch(object.url);
      expect({ key: object.key, status: download.status }).toEqual({ key: object.key, status: 200 });
      const sha256 = createHash('sha256')
        .update(Buffer.from(await download.arrayBuffer()))
        .digest('hex');
      expect(sha256).toBe(described.body.manifest.objects.find((o) => o.key === object.key)?.sha256);
    }
  });
});
