import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import {
  api,
  DialnexaSimulator,
  KEYS,
  query,
  resetDatabase,
  type RunningService,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';

type Json = Record<string, any>;

/**
 * What a restore must never do, end to end: activate, cancel or delete anything upstream, make a
 * second copy of a lead whose upload answer was lost, log a lead's phone number, or answer bad
 * input with a 5xx.
 */
describe('restore guarantees (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;
  const lines: string[] = [];

  const restore = (body: unknown, key: string = KEYS.admin) =>
    client.call<Json>('POST', '/v1/restores', { key, body: body as Json });

  async function waitForRestore(id: string, timeoutMs = 90_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    let last: Json = {};
    while (Date.now() < deadline) {
      last = (await client.call<Json>('GET', `/v1/restores/${id}`, { key: KEYS.auditor })).body;
      if (last['status'] === 'completed' || last['status'] === 'failed') return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`restore ${id} did not finish: ${JSON.stringify(last)}`);
  }

  beforeAll(async () => {
    // the service logs through process.stdout.write in this process: captured, kept out of the output
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
    sim = new DialnexaSimulator({ settleMs: 100, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(
      serviceEnv(sim.url, {
        LOG_LEVEL: 'debug',
        API_RATE_LIMIT_PER_MINUTE: '1000000',
        API_RATE_LIMIT_BURST: '1000000',
      }),
    );
    client = api(service.url);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
    jest.restoreAllMocks();
  });

  it('a lost upload answer: one copy of each lead; nothing activated, cancelled or deleted; no phone number logged', async () => {
    const workflowId = sim.addWorkflow({ nodes: 4, edges: 3, leads: 250 }); // the lookup pages past page 1 (100 a page)
    const phones = sim.snapshot(workflowId)!.leads.map((l) => String(l['phone_number']));
    const created = await client.create({ workflowId, reason: 'deleted by mistake, later restored' });
    const teardown = await client.waitForEnd(String(created.body['id']));
    expect(teardown['status']).toBe('completed');
    const from = sim.requests.length;
    // the upload is performed, its answer lost (a 500 after the leads were enrolled)
    sim.faults.failAfterPerformNext(1, { status: 500, method: 'POST', path: /\/leads$/ });

    const answer = await restore({ teardownId: teardown['id'], reason: 'restore with a lost answer' });
    const done = await waitForRestore(String(answer.body['id']));

    expect(done['status']).toBe('completed');
    const newId = String(done['newWorkflowId']);
    const restored = sim.snapshot(newId)!;
    const uploaded = Object.keys(done['idMap']['leads']).length;
    expect(restored.leads).toHaveLength(uploaded);
    expect(new Set(Object.values(done['idMap']['leads'])).size).toBe(uploaded);
    expect(restored.workflow['status']).toBe('draft');
    const during = sim.requests.slice(from);
    expect(during.filter((r) => r.method === 'POST' && r.path.endsWith('/leads'))).toHaveLength(1);
    const looked = during.filter((r) => r.method === 'GET' && r.path === `/v1/workflows/${newId}/leads`);
    expect(looked.map((r) => r.query['page'])).toEqual(expect.arrayContaining(['1', '2']));
    expect(uploaded).toBeGreaterThan(100);
    // nothing but creates and reads: no status change, no cancel, no delete, of any workflow
    expect(during.filter((r) => r.method !== 'GET' && r.method !== 'POST').map((r) => r.path)).toEqual([]);
    expect(during.filter((r) => /\/(cancel|status|activate)$/.test(r.path)).map((r) => r.path)).toEqual([]);
    expect(during.filter((r) => r.method === 'POST' && r.path === '/v1/workflows')).toHaveLength(1);

    const events = await query<{ type: string; actor: string; teardown_id: string }>(
      `SELECT type, actor, teardown_id FROM audit_event WHERE type LIKE 'restore.%' AND details->>'restoreId' = $1 ORDER BY seq`,
      [done['id']],
    );
    expect(events.map((e) => [e.type, e.actor, e.teardown_id])).toEqual([
      ['restore.requested', 'ops-admin', teardown['id']],
      ['restore.completed', 'system', teardown['id']],
    ]);
    const log = lines.join('');
    expect(log).toContain(String(done['id']));
    expect(phones.filter((p) => log.includes(p) || log.includes(p.slice(1)))).toEqual([]);
  });

  it('any body answers a 4xx with a stable code, never a 5xx, and creates no restore', async () => {
    const teardownId = fc.oneof(
      fc.constant('td_01ARZ3NDEKTSV4RRFFQ69G5FAV'),
      fc.string(),
      fc.integer(),
      fc.constant(null),
    );
    const body = fc.oneof(
      fc.anything(),
      fc.record(
        {
          teardownId,
          snapshot: fc.oneof(fc.constantFrom('final', 'export', 'latest', ''), fc.anything()),
          reason: fc.oneof(fc.string({ unit: 'binary' }), fc.anything()),
          dryRun: fc.oneof(fc.boolean(), fc.anything()),
          excludeLeadStatuses: fc.oneof(fc.array(fc.string()), fc.anything()),
          extra: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );
    const restores = async () => (await query<{ count: string }>('SELECT count(*) FROM restore'))[0]?.count;
    const before = await restores();

    await fc.assert(
      fc.asyncProperty(body, async (sent) => {
        const answer = await restore(sent);
        expect([400, 404, 409, 415, 422]).toContain(answer.status);
        expect(String(answer.body['code'])).toMatch(/^[A-Z_]+$/);
      }),
      { numRuns: 150 },
    );

    expect(await restores()).toBe(before);
  });

  it('a replayed Idempotency-Key answers the restore as GET does, its id map and progress included', async () => {
    const workflowId = sim.addWorkflow({ nodes: 3, edges: 2, leads: 10 });
    const created = await client.create({ workflowId, reason: 'deleted by mistake, later restored' });
    const teardown = await client.waitForEnd(String(created.body['id']));
    const body = { teardownId: teardown['id'], reason: 'restore once' };
    const send = () =>
      client.call<Json>('POST', '/v1/restores', {
        key: KEYS.admin,
        body,
        headers: { 'idempotency-key': 'restore-replay-1' },
      });
    const first = await send();
    const done = await waitForRestore(String(first.body['id']));
    expect(done['status']).toBe('completed');

    const again = await send();

    expect(again.status).toBe(200);
    expect({ ...again.body, updatedAt: null }).toEqual({ ...done, updatedAt: null });
  });

  it('a lost answer to the entry node create (its config holds the hostile catalogue) is found by the lookup: one copy', async () => {
    const workflowId = sim.addWorkflow({ nodes: 3, edges: 2, leads: 5 });
    const created = await client.create({ workflowId, reason: 'deleted by mistake, later restored' });
    const teardown = await client.waitForEnd(String(created.body['id']));
    // the first node create is performed, its connection dropped before the answer
    sim.faults.dropAfterPerformNext(1, { method: 'POST', path: /\/nodes$/ });

    const answer = await restore({ teardownId: teardown['id'], reason: 'restore with a lost node answer' });
    const done = await waitForRestore(String(answer.body['id']));

    expect(done['error']).toBeNull();
    expect(done['status']).toBe('completed');
    const restored = sim.snapshot(String(done['newWorkflowId']))!;
    expect(restored.nodes).toHaveLength(3);
    expect(Object.values(done['idMap']['nodes']).sort()).toEqual(restored.nodes.map((n) => n.id).sort());
  });
});
