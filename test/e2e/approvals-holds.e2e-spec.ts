import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
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
 * Four-eyes approval and legal holds, end to end. Nothing is sent upstream before a teardown has
 * its approvals, and nothing changes the workflow while a hold covers it.
 */
describe('approvals and legal holds (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;

  const upstreamCalls = (workflowId: string) => sim.requests.filter((r) => r.path.includes(workflowId));
  const mutations = (workflowId: string) => upstreamCalls(workflowId).filter((r) => r.method !== 'GET');
  const auditOf = (id: string) =>
    query<{ type: string; actor: string; details: Record<string, unknown> }>(
      'SELECT type, actor, details FROM audit_event WHERE teardown_id = $1 ORDER BY seq',
      [id],
    );
  const decide = (id: string, what: 'approve' | 'reject', key: string, comment?: string) =>
    client.call('POST', `/v1/teardowns/${id}/${what}`, {
      key,
      body: comment === undefined ? {} : { comment },
    });

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 300, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url, { APPROVALS_REQUIRED: '2', APPROVAL_TTL_HOURS: '1' }));
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

  describe('four-eyes approval', () => {
    it('refuses an approval after APPROVAL_TTL_HOURS with 409 APPROVAL_EXPIRED, on a replica that runs no sweeper', async () => {
      // an API-only replica: the expiry must hold at decision time, not wait for a sweeper
      const apiOnly = await startService(
        serviceEnv(sim.url, { APPROVALS_REQUIRED: '1', APPROVAL_TTL_HOURS: '1', RUNNER_ENABLED: 'false' }),
      );
      try {
        const apiClient = api(apiOnly.url);
        const workflowId = sim.addWorkflow({ leads: 10, inTransitLeads: 0 });
        const id = String((await apiClient.create({ workflowId, reason: 'approved too late' })).body['id']);
        await query(`UPDATE teardown SET created_at = now() - interval '61 minutes' WHERE id = $1`, [id]);

        const late = await apiClient.call('POST', `/v1/teardowns/${id}/approve`, {
          key: KEYS.approver,
          body: {},
        });

        expect(late).toMatchObject({ status: 409, body: { code: 'APPROVAL_EXPIRED' } });
        await expect(apiClient.get(id, KEYS.admin)).resolves.toMatchObject({ body: { status: 'rejected' } });
        const events = await auditOf(id);
        expect(events.map((e) => [e.type, e.actor])).toEqual([
          ['teardown.requested', 'team-a'],
          ['teardown.rejected', 'system'],
        ]);
        expect(events[1]!.details).toMatchObject({ expired: true });
        expect(upstreamCalls(workflowId)).toEqual([]);
      } finally {
        await apiOnly.stop();
      }
    });

    it('waits for two approvals by callers other than the requester, sending nothing upstream until then', async () => {
      const workflowId = sim.addWorkflow({ leads: 30, inTransitLeads: 0 });
      const created = await client.create({ workflowId, reason: 'needs two approvals' });
      expect(created).toMatchObject({
        status: 202,
        body: { status: 'awaiting_approval', approvalsRequired: 2 },
      });
      const id = String(created.body['id']);

      await expect(decide(id, 'approve', KEYS.requester, 'my own')).resolves.toMatchObject({
        status: 403,
        body: { code: 'FORBIDDEN' },
      });
      const first = await decide(id, 'approve', KEYS.approver, 'checked PRIV-1042');
      expect(first).toMatchObject({
        status: 200,
        body: { status: 'awaiting_approval', approvals: [{ approver: 'approver-1', decision: 'approved' }] },
      });
      await expect(decide(id, 'approve', KEYS.approver)).resolves.toMatchObject({
        status: 409,
        body: { code: 'APPROVAL_ALREADY_RECORDED' },
      });
      await new Promise((r) => setTimeout(r, 1500));
      expect(upstreamCalls(workflowId)).toEqual([]);

      const second = await decide(id, 'approve', KEYS.admin, 'second pair of eyes');
      expect(second).toMatchObject({ status: 200, body: { status: 'queued' } });
      await expect(client.waitForEnd(id)).resolves.toMatchObject({ status: 'completed' });
      const trail = await auditOf(id);
      expect(trail.map((e) => [e.type, e.actor])).toEqual([
        ['teardown.requested', 'team-a'],
        ['teardown.approved', 'approver-1'],
        ['teardown.approved', 'ops-admin'],
        ['archive.exported', 'system'],
        ['workflow.cancelled', 'system'],
        ['archive.finalized', 'system'],
        ['workflow.deleted', 'system'],
        ['teardown.completed', 'system'],
      ]);
      expect(trail[1]!.details).toMatchObject({ comment: 'checked PRIV-1042' });
    });

    it('refuses the requester even when it also has the approver role (admin requesting)', async () => {
      const workflowId = sim.addWorkflow({ leads: 5 });
      const created = await client.create({ workflowId, reason: 'admin asks' }, { key: KEYS.admin });
      const answer = await decide(String(created.body['id']), 'approve', KEYS.admin);
      expect(answer).toMatchObject({ status: 403, body: { code: 'APPROVAL_NOT_ALLOWED' } });
      await decide(String(created.body['id']), 'reject', KEYS.approver, 'clean up');
    });

    it('ends a rejected teardown without touching the workflow, and frees it for a new request', async () => {
      const workflowId = sim.addWorkflow({ leads: 5 });
      const created = await client.create({ workflowId, reason: 'will be rejected' });
      const id = String(created.body['id']);
      await expect(decide(id, 'reject', KEYS.approver, 'wrong workflow')).resolves.toMatchObject({
        status: 200,
        body: { status: 'rejected' },
      });
      await expect(decide(id, 'approve', KEYS.admin)).resolves.toMatchObject({
        status: 409,
        body: { code: 'TEARDOWN_NOT_AWAITING_APPROVAL' },
      });
      expect(upstreamCalls(workflowId)).toEqual([]);
      const trail = await auditOf(id);
      expect(trail.map((e) => e.type)).toEqual(['teardown.requested', 'teardown.rejected']);
      expect(trail[1]).toMatchObject({ actor: 'approver-1', details: { comment: 'wrong workflow' } });
      await expect(client.create({ workflowId, reason: 'second try' })).resolves.toMatchObject({
        status: 202,
      });
    });

    it('rejects, as the system, a teardown still awaiting approval after APPROVAL_TTL_HOURS', async () => {
      const workflowId = sim.addWorkflow({ leads: 5 });
      const created = await client.create({ workflowId, reason: 'nobody looks at it' });
      const id = String(created.body['id']);
      await query(`UPDATE teardown SET created_at = now() - interval '2 hours' WHERE id = $1`, [id]);
      const deadline = Date.now() + 10_000;
      let status = 'awaiting_approval';
      while (status === 'awaiting_approval' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        status = String((await client.get(id, KEYS.admin)).body['status']);
      }
      expect(status).toBe('rejected');
      const trail = await auditOf(id);
      expect(trail[1]).toMatchObject({
        type: 'teardown.rejected',
        actor: 'system',
        details: { expired: true },
      });
      expect(upstreamCalls(workflowId)).toEqual([]);
    });
  });

  describe('legal holds', () => {
    it('refuses a teardown of a held workflow, and accepts it once the hold is lifted', async () => {
      const workflowId = sim.addWorkflow({ leads: 5 });
      const placed = await client.call('POST', '/v1/holds', {
        key: KEYS.admin,
        body: { workflowId, reason: 'litigation hold LIT-7' },
      });
      expect(placed).toMatchObject({
        status: 201,
        body: {
          workflowId,
          reason: 'litigation hold LIT-7',
          placedBy: 'ops-admin',
          liftedBy: null,
          liftedAt: null,
        },
      });
      const holdId = String(placed.body['id']);
      await expect(client.create({ workflowId, reason: 'erase it' })).resolves.toMatchObject({
        status: 409,
        body: { code: 'WORKFLOW_ON_HOLD', details: { holdId } },
      });
      const listed = await client.call<{ data: Array<{ id: string }> }>(
        'GET',
        `/v1/holds?workflowId=${workflowId}&active=true`,
        {
          key: KEYS.auditor,
        },
      );
      expect(listed.body.data.map((h) => h.id)).toEqual([holdId]);

      const lifted = await client.call('DELETE', `/v1/holds/${holdId}`, { key: KEYS.admin });
      expect(lifted).toMatchObject({ status: 200, body: { id: holdId, liftedBy: 'ops-admin' } });
      await expect(client.call('DELETE', `/v1/holds/${holdId}`, { key: KEYS.admin })).resolves.toMatchObject({
        status: 409,
        body: { code: 'HOLD_ALREADY_LIFTED' },
      });
      await expect(client.create({ workflowId, reason: 'erase it now' })).resolves.toMatchObject({
        status: 202,
      });
      const events = await query<{ type: string; actor: string }>(
        `SELECT type, actor FROM audit_event WHERE workflow_id = $1 AND type LIKE 'hold.%' ORDER BY seq`,
        [workflowId],
      );
      expect(events).toEqual([
        { type: 'hold.placed', actor: 'ops-admin' },
        { type: 'hold.lifted', actor: 'ops-admin' },
      ]);
    });

    it('lets only admins place or lift holds, and admins and auditors list them', async () => {
      const body = { workflowId: 'wfl_anything', reason: 'not allowed' };
      await expect(client.call('POST', '/v1/holds', { key: KEYS.requester, body })).resolves.toMatchObject({
        status: 403,
      });
      await expect(client.call('POST', '/v1/holds', { key: KEYS.auditor, body })).resolves.toMatchObject({
        status: 403,
      });
      await expect(client.call('GET', '/v1/holds', { key: KEYS.requester })).resolves.toMatchObject({
        status: 403,
      });
      await expect(client.call('GET', '/v1/holds', { key: KEYS.auditor })).resolves.toMatchObject({
        status: 200,
      });
      await expect(
        client.call('DELETE', '/v1/holds/hold_01M8HN8YSXYEQGS38GD8VWBB7E', { key: KEYS.admin }),
      ).resolves.toMatchObject({ status: 404, body: { code: 'HOLD_NOT_FOUND' } });
      await expect(
        client.call('POST', '/v1/holds', { key: KEYS.admin, body: { workflowId: '../x', reason: 'r' } }),
      ).resolves.toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    });

    it('stops a teardown that is already exporting before its cancel, and a retry after the lift completes it', async () => {
      const workflowId = sim.addWorkflow({ leads: 200, inTransitLeads: 0 });
      const created = await client.create({ workflowId, reason: 'held mid-export' });
      const id = String(created.body['id']);
      sim.faults.delay(300, { method: 'GET', path: /\/leads$/ }); // a slow export
      await decide(id, 'approve', KEYS.approver);
      await decide(id, 'approve', KEYS.admin);
      // wait until the export has begun, then place the hold
      const deadline = Date.now() + 10_000;
      while (upstreamCalls(workflowId).length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const placed = await client.call('POST', '/v1/holds', {
        key: KEYS.admin,
        body: { workflowId, reason: 'subpoena' },
      });
      expect(placed.status).toBe(201);
      expect(placed.body['teardowns']).toEqual([
        { id, status: 'exporting', cancelSent: false, deleteSent: false },
      ]);
      sim.faults.clear();

      const stopped = await client.waitForEnd(id);
      expect(stopped).toMatchObject({
        status: 'failed',
        error: { code: 'WORKFLOW_ON_HOLD', step: 'cancel', retryable: true },
        archive: { counts: { leads: 200 } },
      });
      expect(mutations(workflowId)).toEqual([]);
      expect(sim.exists(workflowId)).toBe(true);

      // still held: a retry is refused outright, and nothing is sent
      await expect(client.call('POST', `/v1/teardowns/${id}/retry`)).resolves.toMatchObject({
        status: 409,
        body: { code: 'WORKFLOW_ON_HOLD' },
      });
      await expect(client.get(id, KEYS.admin)).resolves.toMatchObject({ body: { status: 'failed' } });
      expect(mutations(workflowId)).toEqual([]);

      await client.call('DELETE', `/v1/holds/${String(placed.body['id'])}`, { key: KEYS.admin });
      await client.call('POST', `/v1/teardowns/${id}/retry`);
      await expect(client.waitForEnd(id)).resolves.toMatchObject({ status: 'completed' });
      expect(sim.exists(workflowId)).toBe(false);
    });
  });
});
