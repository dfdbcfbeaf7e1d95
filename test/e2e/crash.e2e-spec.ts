import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import {
  api,
  DialnexaSimulator,
  freePort,
  KEYS,
  parseNdjsonGz,
  query,
  readObject,
  resetDatabase,
  s3,
  serviceEnv,
  ServiceProcess,
} from '../support/e2e-harness.js';
import { jsonDifferences } from '../support/json-differences.js';

/**
 * The built service (dist/main.js) killed with SIGKILL mid-teardown and started again: the
 * teardown must resume from its last finished step and complete, with one archive, one audit
 * trail without duplicates, and exactly one DELETE that DialNexa performed.
 */
const KEYS_ADMIN = KEYS.admin;

describe('crash recovery (e2e, separate process)', () => {
  let sim: DialnexaSimulator;
  let service: ServiceProcess | null = null;
  let env: Record<string, string>;

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 300, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    // MIGRATE_ON_START: each start applies migrations (none pending) under the advisory lock,
    // through Prisma's CLI and the WASM schema engine, as in production.
    env = serviceEnv(sim.url, {
      RUNNER_LEASE_SECONDS: '3',
      RUNNER_SWEEP_INTERVAL_S: '1',
      MIGRATE_ON_START: 'true',
    });
  });

  afterEach(async () => {
    await service?.stop();
    service = null;
    sim.faults.clear();
  });

  afterAll(async () => {
    await sim?.stop();
  });

  async function crashAndRecover(workflowId: string, shouldKill: (method: string, path: string) => boolean) {
    const port = await freePort();
    service = new ServiceProcess(env);
    await service.start(port);
    let killed = false;
    const victim = service;
    const unhook = sim.onRequest(async (method, path) => {
      if (!killed && path.includes(workflowId) && shouldKill(method, path)) {
        killed = true;
        await victim.killNow();
      }
    });
    const client = api(service.url);
    const created = await client.create({ workflowId, reason: 'crash test' });
    expect(created.status).toBe(202);
    const id = String(created.body['id']);
    const deadline = Date.now() + 20_000;
    while (!killed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    unhook();
    expect(killed).toBe(true);

    service = new ServiceProcess(env);
    await service.start(port);
    const done = await api(service.url).waitForEnd(id, 60_000);
    return { id, done };
  }

  async function assertOneCleanTeardown(id: string, workflowId: string) {
    const performedDeletes = sim.requests.filter(
      (r) => r.method === 'DELETE' && r.path.includes(workflowId) && r.performed && r.status === 200,
    );
    expect(performedDeletes).toHaveLength(1);
    expect(sim.exists(workflowId)).toBe(false);
    const types = (
      await query<{ type: string }>('SELECT type FROM audit_event WHERE teardown_id = $1 ORDER BY seq', [id])
    ).map((r) => r.type);
    expect(types).toEqual([
      'teardown.requested',
      'archive.exported',
      'workflow.cancelled',
      'archive.finalized',
      'workflow.deleted',
      'teardown.completed',
    ]);
    const prefix = `${env['ARCHIVE_PREFIX']}${workflowId}/${id}/`;
    const versions = await s3().send(
      new ListObjectVersionsCommand({ Bucket: process.env['S3_BUCKET'], Prefix: prefix }),
    );
    const manifests = (versions.Versions ?? []).filter((v) => v.Key === `${prefix}manifest.json`);
    expect(manifests).toHaveLength(1);
  }

  it('resumes a teardown killed during the export of its leads', async () => {
    const workflowId = sim.addWorkflow({ leads: 450, inTransitLeads: 0 });
    let leadPages = 0;
    const { id, done } = await crashAndRecover(
      workflowId,
      (method, path) => method === 'GET' && path.endsWith('/leads') && ++leadPages === 3,
    );
    expect(done).toMatchObject({ status: 'completed', archive: { counts: { leads: 450 } } });
    await assertOneCleanTeardown(id, workflowId);
  }, 90_000);

  it('resumes an export killed after two uploaded parts from the page after them, in the same upload', async () => {
    // ~2 KB of gzip a lead: ~2,600 leads (26 pages) fill a 5 MiB part (the store's minimum); 12 MB in all
    const leads = Array.from({ length: 6_000 }, (_, i) => ({
      id: `wlead_${String(i).padStart(12, '0')}`,
      phone_number: `+1415555${String(i % 10_000).padStart(4, '0')}`,
      status: 'completed',
      current_node_id: 'node_a',
      metadata: { blob: randomBytes(2_000).toString('base64') },
    }));
    const workflowId = sim.addServedWorkflow({
      workflow: { id: `wfl_${randomBytes(6).toString('hex')}`, name: 'resume', status: 'active' },
      nodes: [{ id: 'node_a', node_type: 'VOICE_CALL' }],
      edges: [],
      leads,
    });
    const served = sim.snapshot(workflowId)!.leads;
    const partsEnv = { ...env, ARCHIVE_PART_SIZE_MB: '5', ARCHIVE_UPLOAD_BUFFER_MB: '16' };
    const port = await freePort();
    service = new ServiceProcess(partsEnv);
    await service.start(port);
    const victim = service;
    // pages from 57 on wait until the service is killed: it dies with two parts recorded
    let killed = false;
    const unhook = sim.onRequest(async (method, path, q) => {
      if (method !== 'GET' || path !== `/v1/workflows/${workflowId}/leads` || Number(q['page']) < 57) return;
      while (!killed) await new Promise((r) => setTimeout(r, 20));
    });
    const created = await api(service.url).create({ workflowId, reason: 'resume in the middle' });
    const id = String(created.body['id']);
    const recordedParts = () =>
      query<{ part_number: number; last_page: number }>(
        'SELECT part_number, last_page FROM leads_upload_part WHERE teardown_id = $1 ORDER BY part_number',
        [id],
      );
    let parts: Array<{ part_number: number; last_page: number }> = [];
    const deadline = Date.now() + 30_000;
    while (parts.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      parts = await recordedParts();
    }
    expect(parts.map((p) => p.part_number)).toEqual([1, 2]);
    await victim.killNow();
    killed = true;
    unhook();
    const resumeAt = parts[1]!.last_page + 1;

    const restartedAt = sim.requests.length;
    service = new ServiceProcess(partsEnv);
    await service.start(port);
    const done = await api(service.url).waitForEnd(id, 60_000);

    expect(done).toMatchObject({ status: 'completed', archive: { counts: { leads: 6_000 } } });
    // the resumed export listed only the pages after the recorded parts (the final snapshot,
    // after the cancel, lists them all again, as it always does)
    const after = sim.requests.slice(restartedAt).filter((r) => r.path.includes(workflowId));
    const cancelAt = after.findIndex((r) => r.method === 'POST');
    const exportPages = after
      .slice(0, cancelAt)
      .filter((r) => r.path.endsWith('/leads') && r.query['status'] === undefined)
      .map((r) => Number(r.query['page']));
    expect(Math.min(...exportPages)).toBe(resumeAt);
    expect(new Set(exportPages).size).toBe(60 - resumeAt + 1);
    await assertOneCleanTeardown(id, workflowId);
    // the archive holds every lead once, in order, as served: what an export never killed holds
    const archive = done['archive'] as { manifestKey: string };
    const manifest = JSON.parse((await readObject(archive.manifestKey)).toString('utf8')) as {
      objects: Array<{ key: string; versionId: string }>;
    };
    const object = manifest.objects.find((o) => o.key.endsWith('/leads.ndjson.gz'))!;
    const archived = parseNdjsonGz(await readObject(object.key, object.versionId));
    expect(archived.map((lead) => lead['id'])).toEqual(leads.map((lead) => lead.id));
    expect(jsonDifferences(archived, served, 'leads')).toEqual([]);
    await expect(recordedParts()).resolves.toEqual([]);
  }, 120_000);

  it('resumes a teardown killed while its DELETE was in flight, deleting exactly once', async () => {
    const workflowId = sim.addWorkflow({ leads: 120, inTransitLeads: 0 });
    const { id, done } = await crashAndRecover(workflowId, (method) => method === 'DELETE');
    expect(done).toMatchObject({ status: 'completed' });
    await assertOneCleanTeardown(id, workflowId);
  }, 90_000);

  it('stops a teardown that kills its process on every claim: TEARDOWN_CRASH_LOOP, retryable, and nothing sent upstream', async () => {
    const crashEnv = { ...env, RUNNER_MAX_CLAIMS_WITHOUT_PROGRESS: '3' };
    const workflowId = sim.addWorkflow({ leads: 250, inTransitLeads: 0 });
    const port = await freePort();
    let kills = 0;
    let current: ServiceProcess | null = null;
    // every time the export lists the leads, the process dies (as an out-of-memory kill would)
    const unhook = sim.onRequest(async (method, path) => {
      if (current && method === 'GET' && path.includes(workflowId) && path.endsWith('/leads')) {
        const victim = current;
        current = null;
        kills += 1;
        await victim.killNow();
      }
    });
    try {
      current = new ServiceProcess(crashEnv);
      service = current;
      await current.start(port);
      const created = await api(current.url).create({ workflowId, reason: 'crash loop' });
      const id = String(created.body['id']);
      let ended: Record<string, unknown> | null = null;
      const deadline = Date.now() + 60_000;
      while (!ended && Date.now() < deadline) {
        if (!current) {
          current = new ServiceProcess(crashEnv);
          service = current;
          await current.start(port);
        }
        const answer = await api(`http://127.0.0.1:${port}`)
          .get(id, KEYS_ADMIN)
          .catch(() => null);
        const raw: unknown = answer?.body['status'];
        const status = typeof raw === 'string' ? raw : '';
        if (status === 'failed' || status === 'completed') ended = answer!.body;
        else await new Promise((r) => setTimeout(r, 100));
      }

      expect(ended).toMatchObject({
        status: 'failed',
        error: { code: 'TEARDOWN_CRASH_LOOP', step: 'export', retryable: true },
      });
      expect(kills).toBe(3); // three claims ran the step and died; the fourth stopped it
      expect(sim.requests.filter((r) => r.path.includes(workflowId) && r.method !== 'GET')).toEqual([]);
      const events = await query<{ type: string }>(
        'SELECT type FROM audit_event WHERE teardown_id = $1 ORDER BY seq',
        [id],
      );
      expect(events.map((e) => e.type)).toEqual(['teardown.requested', 'teardown.failed']);
    } finally {
      unhook();
    }
  }, 90_000);
});
