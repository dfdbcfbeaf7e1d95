import { GetObjectRetentionCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canonicalJson } from '../../src/common/canonical-json.js';
import { ReceiptKeyring } from '../../src/receipts/receipt-signature.js';
import {
  api,
  DialnexaSimulator,
  KEYS,
  objectExists,
  RECEIPT_TEST_KEY,
  readObject,
  resetDatabase,
  type RunningService,
  s3,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Envelope {
  receipt: Record<string, any>;
  signature: { alg: string; kid: string; value: string };
}

/** The raw bytes of an answer (the receipt is served byte for byte as stored). */
async function getRaw(
  url: string,
  key: string | null,
): Promise<{ status: number; bytes: Buffer; type: string | null }> {
  const response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return {
    status: response.status,
    bytes: Buffer.from(await response.arrayBuffer()),
    type: response.headers.get('content-type'),
  };
}

/**
 * Signed deletion receipts end to end: a completed teardown's receipt is written beside its
 * manifest under Object Lock and served; the built CLI verifies it offline and online; a changed
 * byte, a foreign key and an event that is not in the chain are caught; roles; no key, no receipt.
 */
describe('deletion receipts (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let work: string;

  const cli = (args: string[], key: string = KEYS.auditor): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['dist/cli/main.js', ...args], {
        env: {
          PATH: process.env['PATH'] ?? '',
          DIALNEXA_TEARDOWN_URL: service.url,
          DIALNEXA_TEARDOWN_API_KEY: key,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  /** A completed teardown of a small workflow, requested by team-a. */
  const completedTeardown = async (): Promise<Record<string, any>> => {
    const workflowId = sim.addWorkflow({ nodes: 3, edges: 2, leads: 40 });
    const created = await api(service.url).create({ workflowId, reason: 'GDPR erasure', ticket: 'PRIV-7' });
    const teardown = await api(service.url).waitForEnd(String(created.body['id']));
    expect(teardown['status']).toBe('completed');
    return teardown;
  };

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 200, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url));
    work = await mkdtemp(path.join(tmpdir(), 'dialnexa-teardown-receipt-'));
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('writes receipt.json beside the manifest under Object Lock, and serves those bytes', async () => {
    const teardown = await completedTeardown();
    const id = String(teardown['id']);
    const key = `${service.config.archive.prefix}${teardown['workflowId']}/${id}/receipt.json`;
    // issued by the runner once the teardown ended, before anyone asks for it
    let issued = false;
    for (let i = 0; i < 100 && !issued; i += 1) {
      issued = await objectExists(key);
      if (!issued) await new Promise((r) => setTimeout(r, 100));
    }
    expect(issued).toBe(true);

    const served = await getRaw(`${service.url}/v1/teardowns/${id}/receipt`, KEYS.requester);
    const again = await getRaw(`${service.url}/v1/teardowns/${id}/receipt`, KEYS.auditor);
    const stored = await readObject(key);
    const retention = await s3().send(
      new GetObjectRetentionCommand({ Bucket: process.env['S3_BUCKET'], Key: key }),
    );
    const jwks = await getRaw(`${service.url}/.well-known/jwks.json`, null);
    const trail = await api(service.url).call<{ data: Record<string, any>[] }>(
      'GET',
      `/v1/teardowns/${id}/audit`,
      {
        key: KEYS.auditor,
      },
    );

    expect(served.status).toBe(200);
    expect(served.type).toMatch(/^application\/json/);
    expect(served.bytes.equals(stored)).toBe(true);
    expect(again.bytes.equals(stored)).toBe(true);
    expect(retention.Retention?.Mode).toBe('GOVERNANCE');
    const envelope = JSON.parse(stored.toString('utf8')) as Envelope;
    expect(stored.toString('utf8')).toBe(canonicalJson(envelope));
    const keyring = new ReceiptKeyring(RECEIPT_TEST_KEY.privatePem);
    expect(JSON.parse(jwks.bytes.toString('utf8'))).toEqual({ keys: [keyring.current] });
    expect(envelope.signature).toMatchObject({ alg: 'EdDSA', kid: keyring.current.kid });
    expect(envelope.receipt).toMatchObject({
      teardownId: id,
      workflowId: teardown['workflowId'],
      requestedBy: 'team-a',
      reason: 'GDPR erasure',
      ticket: 'PRIV-7',
      deletedAt: teardown['completedAt'],
      archive: {
        manifestKey: teardown['archive']['manifestKey'],
        manifestSha256: teardown['archive']['manifestSha256'],
        counts: { nodes: 3, edges: 2, leads: 40 },
      },
    });
    const events = trail.body.data.map((e) => ({
      seq: e['seq'],
      id: e['id'],
      at: e['at'],
      actor: e['actor'],
      type: e['type'],
      hash: e['hash'],
    }));
    expect(envelope.receipt['events']).toEqual(events);
    const deleted = events.find((e) => e.type === 'workflow.deleted')!;
    expect(envelope.receipt['chain']['headSeq']).toBeGreaterThanOrEqual(deleted.seq);
    expect(await objectExists(envelope.receipt['chain']['anchorKey'])).toBe(true);
  });

  it('verifies with the CLI offline and online; a changed byte and a foreign key fail', async () => {
    const id = String((await completedTeardown())['id']);
    const file = path.join(work, `${id}.json`);
    const jwksFile = path.join(work, 'jwks.json');
    await writeFile(jwksFile, (await getRaw(`${service.url}/.well-known/jwks.json`, null)).bytes);

    const got = await cli(['receipt', 'get', id, '--out', file], KEYS.requester);
    const offline = await cli(['receipt', 'verify', file, '--jwks', jwksFile]);
    const online = await cli(['receipt', 'verify', file, '--online']);

    expect(got).toMatchObject({ code: 0, stdout: `receipt of ${id} saved to ${file}\n` });
    expect(offline).toMatchObject({ code: 0, stderr: '' });
    expect(offline.stdout).toContain(`receipt of ${id} verified (offline)`);
    expect(online).toMatchObject({ code: 0, stderr: '' });
    expect(online.stdout).toContain('(offline and online)');
    expect(online.stdout).toMatch(/ok {3}export manifest .*sha256 matches, locked \(GOVERNANCE\)/);
    expect(online.stdout).toMatch(/ok {3}anchor .*locks the chain head/);

    const bytes = await readFile(file);
    const changed = Buffer.from(bytes);
    const at = changed.indexOf('GDPR erasure');
    changed[at] = 'H'.charCodeAt(0);
    const changedFile = path.join(work, `${id}-changed.json`);
    await writeFile(changedFile, changed);
    const foreign = new ReceiptKeyring(
      generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    );
    const resignedFile = path.join(work, `${id}-foreign.json`);
    await writeFile(resignedFile, foreign.sign((JSON.parse(bytes.toString('utf8')) as Envelope).receipt));

    const changedRun = await cli(['receipt', 'verify', changedFile, '--jwks', jwksFile]);
    const resignedRun = await cli(['--json', 'receipt', 'verify', resignedFile]);

    expect(changedRun.code).toBe(1);
    expect(changedRun.stdout).toContain('signature  FAILED: the signature does not match key');
    expect(resignedRun.code).toBe(1);
    expect(JSON.parse(resignedRun.stdout)).toMatchObject({
      ok: false,
      kid: foreign.current.kid,
      signature: { ok: false, reason: `no key ${foreign.current.kid} in the key set` },
    });
  });

  it('fails --online for a receipt, signed with the key, that names an event not in the chain', async () => {
    const id = String((await completedTeardown())['id']);
    const served = await getRaw(`${service.url}/v1/teardowns/${id}/receipt`, KEYS.auditor);
    const envelope = JSON.parse(served.bytes.toString('utf8')) as Envelope;
    const events = envelope.receipt['events'] as Record<string, any>[];
    const deleted = events.find((e) => e['type'] === 'workflow.deleted')!;
    deleted['hash'] = 'f'.repeat(64);
    const forgedFile = path.join(work, `${id}-forged.json`);
    // the service's own key vouches for it: only the chain can tell
    await writeFile(forgedFile, new ReceiptKeyring(RECEIPT_TEST_KEY.privatePem).sign(envelope.receipt));

    const offline = await cli(['receipt', 'verify', forgedFile]);
    const online = await cli(['receipt', 'verify', forgedFile, '--online']);

    expect(offline.code).toBe(0);
    expect(online.code).toBe(1);
    expect(online.stdout).toContain(`not in the chain as listed: #${deleted['seq']} workflow.deleted`);
    expect(online.stdout).toContain('BAD  receipt.json in the bucket: differs from this file');
    expect(online.stdout).toContain('receipt FAILED verification');
  });

  it('serves the receipt to auditors, admins and the requester only; none for a dry run', async () => {
    const id = String((await completedTeardown())['id']);
    const dryWorkflow = sim.addWorkflow({ nodes: 1, edges: 0, leads: 1 });
    const dry = await api(service.url).create({
      workflowId: dryWorkflow,
      reason: 'just looking',
      dryRun: true,
    });
    const dryId = String(dry.body['id']);
    await api(service.url).waitForEnd(dryId);
    const receiptOf = (teardownId: string, key: string) =>
      api(service.url).call('GET', `/v1/teardowns/${teardownId}/receipt`, { key });

    expect((await receiptOf(id, KEYS.requester)).status).toBe(200);
    expect((await receiptOf(id, KEYS.auditor)).status).toBe(200);
    expect((await receiptOf(id, KEYS.admin)).status).toBe(200);
    await expect(receiptOf(id, KEYS.otherRequester)).resolves.toMatchObject({
      status: 404,
      body: { code: 'TEARDOWN_NOT_FOUND' },
    });
    await expect(receiptOf(id, KEYS.approver)).resolves.toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
    await expect(
      api(service.url).call('GET', `/v1/teardowns/${id}/receipt/evidence`, { key: KEYS.requester }),
    ).resolves.toMatchObject({ status: 403 });
    await expect(receiptOf(dryId, KEYS.requester)).resolves.toMatchObject({
      status: 404,
      body: { code: 'RECEIPT_NOT_FOUND', details: { dryRun: true } },
    });
    await expect(receiptOf('td_00000000000000000000000000', KEYS.auditor)).resolves.toMatchObject({
      status: 404,
      body: { code: 'TEARDOWN_NOT_FOUND' },
    });
  });
});

describe('deletion receipts without a signing key (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 200, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url, { RECEIPT_SIGNING_KEY: '' }));
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
  });

  it('answers 409 RECEIPTS_DISABLED and writes no receipt.json; the key set is empty', async () => {
    const workflowId = sim.addWorkflow({ nodes: 1, edges: 0, leads: 5 });
    const created = await api(service.url).create({ workflowId, reason: 'GDPR erasure' });
    const teardown = await api(service.url).waitForEnd(String(created.body['id']));

    const answer = await api(service.url).call('GET', `/v1/teardowns/${teardown['id']}/receipt`, {
      key: KEYS.auditor,
    });
    const jwks = await api(service.url).call('GET', '/.well-known/jwks.json', { key: null });

    expect(teardown['status']).toBe('completed');
    expect(answer).toMatchObject({ status: 409, body: { code: 'RECEIPTS_DISABLED' } });
    expect(jwks).toMatchObject({ status: 200, body: { keys: [] } });
    const key = `${service.config.archive.prefix}${workflowId}/${teardown['id']}/receipt.json`;
    expect(await objectExists(key)).toBe(false);
  });
});
