import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  api,
  DialnexaSimulator,
  KEYS,
  objectExists,
  parseNdjsonGz,
  query,
  readObject,
  resetDatabase,
  type RunningService,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';
import { jsonText } from '../../src/common/json-text.js';

type Json = Record<string, any>;

/**
 * Restores end to end: tear a workflow down, then restore its archive as a new draft in the
 * simulator, and compare; a tampered archive, a dry run, roles, and the Idempotency-Key.
 */
describe('restores (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;

  const restore = (body: Json, key: string = KEYS.admin, idempotencyKey?: string) =>
    client.call<Json>('POST', '/v1/restores', {
      key,
      body,
      headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
    });

  async function waitForRestore(id: string, timeoutMs = 60_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    let last: Json = {};
    while (Date.now() < deadline) {
      last = (await client.call<Json>('GET', `/v1/restores/${id}`, { key: KEYS.auditor })).body;
      if (last['status'] === 'completed' || last['status'] === 'failed') return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`restore ${id} did not finish: ${JSON.stringify(last)}`);
  }

  async function completedTeardown(): Promise<Json> {
    const workflowId = sim.addWorkflow({ nodes: 5, edges: 6, leads: 120 });
    const created = await client.create({ workflowId, reason: 'deleted by mistake, later restored' });
    const teardown = await client.waitForEnd(String(created.body['id']));
    expect(teardown['status']).toBe('completed');
    return teardown;
  }

  async function archived(
    manifestKey: string,
  ): Promise<{ workflow: Json; nodes: Json[]; edges: Json[]; leads: Json[] }> {
    const manifest = JSON.parse((await readObject(manifestKey)).toString('utf8')) as {
      objects: { key: string; versionId: string | null }[];
    };
    const read = (name: string) => {
      const object = manifest.objects.find((o) => o.key.endsWith(`/${name}`))!;
      return readObject(object.key, object.versionId ?? undefined);
    };
    return {
      workflow: JSON.parse((await read('workflow.json')).toString('utf8')) as Json,
      nodes: JSON.parse((await read('nodes.json')).toString('utf8')) as Json[],
      edges: JSON.parse((await read('edges.json')).toString('utf8')) as Json[],
      leads: parseNdjsonGz(await read('leads.ndjson.gz')),
    };
  }

  const creates = () => sim.requests.filter((r) => r.method === 'POST' || r.method === 'DELETE').length;

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 100, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url));
    client = api(service.url);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
  });

  it('restores the final snapshot as a new draft: same nodes and edges in order through the id map, leads minus removed', async () => {
    const teardown = await completedTeardown();
    const manifestKey = String(teardown['archive']['final']['manifestKey']);
    const before = await archived(manifestKey);
    const archiveObjects = await query<{ archive: Json }>('SELECT archive FROM teardown WHERE id = $1', [
      teardown['id'],
    ]);

    const answer = await restore({ teardownId: teardown['id'], reason: 'the wrong workflow was deleted' });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ teardownId: teardown['id'], status: 'queued', snapshot: 'final' });
    const done = await waitForRestore(String(answer.body['id']));

    expect(done['status']).toBe('completed');
    expect(done['error']).toBeNull();
    const newId = String(done['newWorkflowId']);
    const restored = sim.snapshot(newId)!;
    expect(restored.workflow['status']).toBe('draft');
    expect(restored.workflow['title']).toBe(before.workflow['title']);
    expect(String(restored.workflow['description'])).toContain(`restore ${String(done['id'])}`);
    const shape = (n: Json) => [n['node_type'], n['label'], n['position_x'], n['position_y'], n['config']];
    expect(restored.nodes.map((n) => shape(n as Json))).toEqual(before.nodes.map(shape));
    const nodeMap = done['idMap']['nodes'] as Record<string, string>;
    expect(Object.keys(nodeMap)).toHaveLength(before.nodes.length);
    expect(restored.edges.map((e) => [e.from_node_id, e.to_node_id, e.label ?? null])).toEqual(
      before.edges.map((e) => [nodeMap[e['from_node_id']], nodeMap[e['to_node_id']], e['label'] ?? null]),
    );
    expect(Object.values(done['idMap']['edges'])).toEqual(restored.edges.map((e) => e.id));
    const unencodable = new Set<string>(
      done['notRestored'].find((n: Json) => n['what'] === 'unencodableLeads')?.['leadIds'] ?? [],
    );
    const expected = before.leads.filter(
      (l) => l['status'] !== 'removed' && !unencodable.has(String(l['id'])),
    );
    expect(restored.leads.map((l) => l['phone_number']).sort()).toEqual(
      expected.map((l) => l['phone_number']).sort(),
    );
    expect(Object.keys(done['idMap']['leads']).sort()).toEqual(expected.map((l) => String(l['id'])).sort());
    // metadata per the contract: strings as they are, any other value as its JSON text; an empty
    // value sets no key; a lone surrogate becomes U+FFFD (UTF-8 cannot carry it)
    const asUploaded = (metadata: Json | null | undefined) =>
      Object.fromEntries(
        Object.entries(metadata ?? {})
          .map(([k, v]) => [k.toWellFormed(), (typeof v === 'string' ? v : jsonText(v)).toWellFormed()])
          .filter(([, v]) => v !== ''),
      );
    const newLeads = new Map(restored.leads.map((l) => [String(l['id']), l]));
    for (const lead of expected) {
      const copy = newLeads.get(done['idMap']['leads'][String(lead['id'])]);
      expect([copy?.['phone_number'], copy?.['metadata']]).toEqual([
        lead['phone_number'],
        asUploaded(lead['metadata']),
      ]);
    }
    const excluded = done['notRestored'].find((n: Json) => n['what'] === 'excludedLeads');
    expect(excluded['count']).toBe(before.leads.filter((l) => l['status'] === 'removed').length);
    expect(done['progress']).toMatchObject({
      nodes: { done: before.nodes.length, total: before.nodes.length },
      edges: { done: before.edges.length, total: before.edges.length },
    });

    // the id map is in the bucket, and the archive is untouched
    const idMap = JSON.parse((await readObject(String(done['idMapKey']))).toString('utf8')) as Json;
    expect(idMap).toMatchObject({ restoreId: done['id'], newWorkflowId: newId, idMap: done['idMap'] });
    expect(String(done['idMapKey'])).toBe(
      `${service.config.archive.prefix}restores/${done['id']}/id-map.json`,
    );
    expect(await archived(manifestKey)).toEqual(before);
    const after = await query<{ archive: Json }>('SELECT archive FROM teardown WHERE id = $1', [
      teardown['id'],
    ]);
    expect(after).toEqual(archiveObjects);

    const events = await client.call<{ data: Json[] }>('GET', `/v1/teardowns/${teardown['id']}/audit`, {
      key: KEYS.auditor,
    });
    const restoreEvents = events.body.data.filter((e) => String(e['type']).startsWith('restore.'));
    expect(restoreEvents.map((e) => [e['type'], e['actor'], e['details']['restoreId']])).toEqual([
      ['restore.requested', 'ops-admin', done['id']],
      ['restore.completed', 'system', done['id']],
    ]);
    const listed = await client.call<{ data: Json[] }>('GET', `/v1/restores?teardownId=${teardown['id']}`, {
      key: KEYS.auditor,
    });
    expect(listed.body.data.map((r) => r['id'])).toEqual([done['id']]);
  });

  it('refuses a tampered archive before creating anything upstream', async () => {
    const teardown = await completedTeardown();
    // the recorded manifest no longer matches the stored one, as after a swapped manifest
    await query(
      `UPDATE teardown SET archive = jsonb_set(archive, '{manifestSha256}', to_jsonb(repeat('0', 64))) WHERE id = $1`,
      [teardown['id']],
    );
    const sent = creates();

    const answer = await restore({
      teardownId: teardown['id'],
      snapshot: 'export',
      reason: 'restore it please',
    });
    const done = await waitForRestore(String(answer.body['id']));

    expect(done['status']).toBe('failed');
    expect(done['error']).toMatchObject({ code: 'ARCHIVE_VERIFICATION_FAILED', retryable: false });
    expect(done['newWorkflowId']).toBeNull();
    expect(done['error']['details']['createdUpstream']).toMatchObject({
      workflowId: null,
      nodes: 0,
      edges: 0,
    });
    expect(creates()).toBe(sent);
    expect(await objectExists(`${service.config.archive.prefix}restores/${done['id']}/id-map.json`)).toBe(
      false,
    );
  });

  it('a dry run verifies and reports what would be created, creating nothing', async () => {
    const teardown = await completedTeardown();
    const sent = creates();

    const answer = await restore({
      teardownId: teardown['id'],
      reason: 'how much would it cost',
      dryRun: true,
    });
    const done = await waitForRestore(String(answer.body['id']));

    expect(done['status']).toBe('completed');
    expect(done['dryRun']).toBe(true);
    expect(done['newWorkflowId']).toBeNull();
    expect(done['progress']).toMatchObject({ nodes: { done: 0, total: 5 }, edges: { done: 0, total: 6 } });
    expect(done['progress']['requestsTotal']).toBe(1 + 5 + 6 + done['progress']['leadFiles']['total']);
    expect(creates()).toBe(sent);
  });

  it('a legal hold on the deleted workflow does not block a restore: it creates, it destroys nothing', async () => {
    const teardown = await completedTeardown();
    const hold = await client.call('POST', '/v1/holds', {
      key: KEYS.admin,
      body: { workflowId: teardown['workflowId'], reason: 'litigation' },
    });
    expect(hold.status).toBe(201);

    const answer = await restore({ teardownId: teardown['id'], reason: 'restore under a hold' });
    const done = await waitForRestore(String(answer.body['id']));

    expect(done['status']).toBe('completed');
    expect(sim.exists(String(done['newWorkflowId']))).toBe(true);
  });

  it('only an admin may restore; auditors may read', async () => {
    const teardown = await completedTeardown();
    for (const key of [KEYS.requester, KEYS.approver, KEYS.auditor]) {
      const refused = await restore({ teardownId: teardown['id'], reason: 'not mine to restore' }, key);
      expect(refused.status).toBe(403);
    }
    const listed = await client.call<{ data: Json[] }>('GET', `/v1/restores?teardownId=${teardown['id']}`, {
      key: KEYS.auditor,
    });
    expect(listed.body.data).toEqual([]);
    const asRequester = await client.call('GET', `/v1/restores?teardownId=${teardown['id']}`, {
      key: KEYS.requester,
    });
    expect(asRequester.status).toBe(403);
  });

  it('answers stable errors: unknown teardown, unfinished teardown, bad body, a replayed Idempotency-Key', async () => {
    const unknown = await restore({ teardownId: 'td_01ARZ3NDEKTSV4RRFFQ69G5FAV', reason: 'nothing here' });
    expect([unknown.status, unknown.body['code']]).toEqual([404, 'TEARDOWN_NOT_FOUND']);

    const bad = await restore({ teardownId: 'nope', reason: '', snapshot: 'latest' });
    expect([bad.status, bad.body['code']]).toEqual([400, 'VALIDATION_FAILED']);

    const dry = await client.create({
      workflowId: sim.addWorkflow({ nodes: 2, edges: 1, leads: 3 }),
      reason: 'just looking',
      dryRun: true,
    });
    await client.waitForEnd(String(dry.body['id']));
    const notRestorable = await restore({ teardownId: dry.body['id'], reason: 'a dry run deleted nothing' });
    expect([notRestorable.status, notRestorable.body['code']]).toEqual([409, 'TEARDOWN_NOT_RESTORABLE']);

    const teardown = await completedTeardown();
    const body = { teardownId: teardown['id'], reason: 'once only', dryRun: true };
    const first = await restore(body, KEYS.admin, 'restore-key-1');
    const again = await restore(body, KEYS.admin, 'restore-key-1');
    const other = await restore({ ...body, reason: 'something else' }, KEYS.admin, 'restore-key-1');
    expect(first.status).toBe(202);
    expect([again.status, again.body['id']]).toEqual([200, first.body['id']]);
    expect([other.status, other.body['code']]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    const missing = await client.call('GET', '/v1/restores/rst_01ARZ3NDEKTSV4RRFFQ69G5FAV', {
      key: KEYS.admin,
    });
    expect([missing.status, (missing.body as Json)['code']]).toEqual([404, 'RESTORE_NOT_FOUND']);
  });
});
