import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DEFAULT_API_KEY } from '../simulator/dialnexa-simulator.ts';
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

/**
 * The holes an auditor found around the one rule (issue 8), each reproduced end to end: every
 * cancel and DELETE goes through one gate, which a hold, a lost lease or an unanswered-vs-refused
 * DELETE cannot get around. Each test asserts what was NOT sent.
 */
describe('the destructive-call gate (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;

  const mutations = (workflowId: string) =>
    sim.requests.filter((r) => r.path.includes(workflowId) && r.method !== 'GET');
  const auditTypes = async (id: string) =>
    (
      await query<{ type: string }>('SELECT type FROM audit_event WHERE teardown_id = $1 ORDER BY seq', [id])
    ).map((r) => r.type);
  const placeHold = (workflowId: string) =>
    client.call('POST', '/v1/holds', { key: KEYS.admin, body: { workflowId, reason: 'litigation hold' } });
  const liftHold = (holdId: string) => client.call('DELETE', `/v1/holds/${holdId}`, { key: KEYS.admin });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 200, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(
      serviceEnv(sim.url, { DELETE_SETTLE_TIMEOUT_S: '3', RUNNER_LEASE_SECONDS: '3' }),
    );
    client = api(service.url);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
  });

  beforeEach(() => {
    sim.faults.clear();
    sim.clearRequests();
  });

  describe('a hold stops everything, a retry included', () => {
    it('after a cancel failure: the hold lists the failed teardown, a retry answers 409, and no cancel or DELETE is sent', async () => {
      const workflowId = sim.addWorkflow({ leads: 20, inTransitLeads: 0 });
      sim.faults.failNext(100, { method: 'POST', path: /\/cancel$/, status: 503 });
      const id = String(
        (await client.create({ workflowId, reason: 'cancel fails, then a hold' })).body['id'],
      );
      await expect(client.waitForEnd(id)).resolves.toMatchObject({
        status: 'failed',
        error: { step: 'cancel', retryable: true },
      });
      sim.faults.clear();
      sim.clearRequests();

      const hold = await placeHold(workflowId);
      expect(hold.status).toBe(201);
      // failed, but listed: a retry would otherwise resume it; its cancel was sent (answered 503)
      expect(hold.body['teardowns']).toEqual([{ id, status: 'failed', cancelSent: true, deleteSent: false }]);

      const retried = await client.call('POST', `/v1/teardowns/${id}/retry`);
      expect(retried).toMatchObject({ status: 409, body: { code: 'WORKFLOW_ON_HOLD' } });
      await sleep(500);
      expect(mutations(workflowId)).toEqual([]);
      await expect(client.get(id, KEYS.admin)).resolves.toMatchObject({ body: { status: 'failed' } });

      await liftHold(String(hold.body['id']));
      await expect(client.call('POST', `/v1/teardowns/${id}/retry`)).resolves.toMatchObject({ status: 202 });
      await expect(client.waitForEnd(id)).resolves.toMatchObject({ status: 'completed' });
      expect(sim.exists(workflowId)).toBe(false);
    });

    it('after a settle timeout: a retry answers 409 while held, and no DELETE is ever sent under the hold', async () => {
      const workflowId = sim.addWorkflow({ leads: 20, inTransitLeads: 3, settleMs: 3_600_000 });
      const id = String((await client.create({ workflowId, reason: 'leads never settle' })).body['id']);
      await expect(client.waitForEnd(id)).resolves.toMatchObject({
        status: 'failed',
        error: { code: 'DELETE_SETTLE_TIMEOUT', step: 'finalize' },
      });

      const hold = await placeHold(workflowId);
      expect(hold.body['teardowns']).toEqual([{ id, status: 'failed', cancelSent: true, deleteSent: false }]);
      await expect(client.call('POST', `/v1/teardowns/${id}/retry`)).resolves.toMatchObject({
        status: 409,
        body: { code: 'WORKFLOW_ON_HOLD' },
      });
      await sleep(500);
      expect(sim.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
      expect(sim.exists(workflowId)).toBe(true);
      await liftHold(String(hold.body['id']));
    });

    it('placed while DELETEs are being retried (409, leads in transit): the next DELETE is never sent', async () => {
      const workflowId = sim.addWorkflow({ leads: 20, inTransitLeads: 0 });
      sim.faults.inTransitConflictNext(1_000, { method: 'DELETE' });
      const id = String((await client.create({ workflowId, reason: 'hold during the delete' })).body['id']);
      await until('the first DELETE', () => sim.requests.some((r) => r.method === 'DELETE'));

      const hold = await placeHold(workflowId);
      const heldAt = Date.now();
      expect(hold.body['teardowns']).toEqual([
        { id, status: 'deleting', cancelSent: true, deleteSent: true },
      ]);

      await expect(client.waitForEnd(id)).resolves.toMatchObject({
        status: 'failed',
        error: { code: 'WORKFLOW_ON_HOLD', step: 'delete' },
      });
      // a DELETE that passed the gate before the hold committed may still arrive; nothing after
      const late = sim.requests.filter((r) => r.method === 'DELETE' && r.at > heldAt + 300);
      expect(late).toEqual([]);
      expect(sim.exists(workflowId)).toBe(true);
      await expect(auditTypes(id)).resolves.not.toContain('workflow.deleted');
      await liftHold(String(hold.body['id']));
    });
  });

  it('a DELETE answered 429, then the workflow deleted by someone else, then 404: fails WORKFLOW_GONE with no workflow.deleted', async () => {
    const workflowId = sim.addWorkflow({ leads: 20, inTransitLeads: 0 });
    sim.faults.rateLimitNext(3, { method: 'DELETE', retryAfterS: 0 });
    let deletedElsewhere = false;
    let elsewhereStatus = 0;
    const unsubscribe = sim.onRequest(async (method, path) => {
      // after the last 429, someone else deletes the workflow, before our next DELETE arrives
      const limited = sim.requests.filter((r) => r.method === 'DELETE' && r.status === 429).length;
      if (method === 'DELETE' && path.includes(workflowId) && limited === 3 && !deletedElsewhere) {
        deletedElsewhere = true;
        const answer = await fetch(`${sim.url}/v1/workflows/${workflowId}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${DEFAULT_API_KEY}` },
        });
        elsewhereStatus = answer.status;
      }
    });
    try {
      const id = String((await client.create({ workflowId, reason: '429 then gone' })).body['id']);
      const ended = await client.waitForEnd(id);

      expect(ended).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_GONE', step: 'delete' } });
      expect(deletedElsewhere).toBe(true);
      expect(elsewhereStatus).toBe(200);
      await expect(auditTypes(id)).resolves.not.toContain('workflow.deleted');
    } finally {
      unsubscribe();
    }
  });

  it('a worker whose lease is taken while it waits out a 429 on its DELETE sends nothing more', async () => {
    const workflowId = sim.addWorkflow({ leads: 20, inTransitLeads: 0 });
    sim.faults.rateLimitNext(1, { method: 'DELETE', retryAfterS: 4 });
    const id = String(
      (await client.create({ workflowId, reason: 'lease taken during a 429 wait' })).body['id'],
    );
    await until('the DELETE answered 429', () =>
      sim.requests.some((r) => r.method === 'DELETE' && r.status === 429),
    );

    // another worker claims the teardown while this one waits for Retry-After
    const stolenUntil = Date.now() + 6_000;
    await query(
      `UPDATE teardown SET fencing_token = fencing_token + 1, lease_owner = 'other-worker',
              lease_expires_at = now() + interval '6 seconds' WHERE id = $1`,
      [id],
    );
    // its Retry-After (4 s) passes while the other worker holds the lease: nothing is sent
    await sleep(5_000);
    expect(sim.requests.filter((r) => r.method === 'DELETE').map((r) => r.status)).toEqual([429]);

    // once that lease lapses, the sweeper hands the teardown to a worker that finishes it
    await expect(client.waitForEnd(id, 30_000)).resolves.toMatchObject({ status: 'completed' });
    const deletes = sim.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.status)).toEqual([429, 200]);
    expect(deletes[1]!.at).toBeGreaterThanOrEqual(stolenUntil - 500);
  });
});
