import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  api,
  DialnexaSimulator,
  KEYS,
  resetDatabase,
  type RunningService,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';
import { DEFAULT_API_KEY } from '../simulator/dialnexa-simulator.js';

/** Every string value under a key naming a phone number, anywhere in `value`. */
function phoneNumbers(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const item of value) phoneNumbers(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (/phone/i.test(key) && typeof inner === 'string') found.add(inner);
      else phoneNumbers(inner, found);
    }
  }
  return found;
}

/**
 * The service's log of a whole teardown at LOG_LEVEL=debug, with upstream retries and every
 * caller, searched for what must never be logged: the DialNexa key, API keys, the S3 secret,
 * presigned URL signatures and the workflow's lead phone numbers.
 */
describe('secrets in logs (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;
  const lines: string[] = [];

  beforeAll(async () => {
    // The service logs through process.stdout.write in this process (startService): captured here
    // (and kept out of the test output).
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
    sim = new DialnexaSimulator({ settleMs: 200, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url, { LOG_LEVEL: 'debug' }));
    client = api(service.url);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
    jest.restoreAllMocks();
  });

  it('never logs a key, a secret, a presigned signature or a lead phone number', async () => {
    const workflowId = sim.addWorkflow({ nodes: 4, edges: 3, leads: 250 });
    const phones = phoneNumbers(sim.snapshot(workflowId)!.leads);
    expect(phones.size).toBeGreaterThan(100);
    // failures on the way, so that the retry and error paths log too
    sim.faults.failNext(2, { path: /\/leads$/ });
    sim.faults.rateLimitNext(1, { path: /\/edges$/, retryAfterS: 1 });

    for (const key of Object.values(KEYS)) await client.call('GET', '/v1/teardowns', { key });
    await client.call('GET', '/v1/teardowns', { key: `${KEYS.admin}-wrong` });
    await client.call('GET', '/v1/teardowns', {
      headers: { authorization: `Basic ${KEYS.auditor}` },
      key: null,
    });
    const created = await client.create(
      { workflowId, reason: 'log capture', includeLeadHistory: true },
      { idempotencyKey: 'log-capture-1' },
    );
    expect(created.status).toBe(202);
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done).toMatchObject({ status: 'completed' });
    const archive = await client.call<{ objects: Array<{ url: string }> }>(
      'GET',
      `/v1/teardowns/${created.body['id']}/archive`,
      { key: KEYS.auditor },
    );
    expect(archive.status).toBe(200);
    const signatures = JSON.stringify(archive.body)
      .match(/X-Amz-Signature=[0-9a-f]+/g)!
      .map((s) => s.split('=')[1]!);
    expect(signatures.length).toBeGreaterThan(0);
    await client.call('GET', '/v1/audit/verify', { key: KEYS.auditor });

    const log = lines.join('');
    // the capture saw the service, at debug level, through the failures above
    expect(log).toContain('"level":"debug"');
    expect(log).toContain(String(created.body['id']));
    const secrets: Array<[string, string]> = [
      ['DialNexa API key', DEFAULT_API_KEY],
      ...Object.entries(KEYS).map(([name, key]): [string, string] => [`API key of ${name}`, key]),
      ['S3 secret key', process.env['AWS_SECRET_ACCESS_KEY'] ?? ''],
      ...signatures.map((s): [string, string] => ['presigned URL signature', s]),
      ...[...phones].flatMap((phone): Array<[string, string]> => [
        ['lead phone number', phone],
        ['lead phone number (digits)', phone.replace(/\D/g, '')],
      ]),
    ];
    const leaked = secrets
      .filter(([, secret]) => secret.length > 0 && log.includes(secret))
      .map(([what]) => what);
    expect(leaked).toEqual([]);
  });
});
