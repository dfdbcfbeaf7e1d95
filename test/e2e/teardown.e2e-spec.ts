import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
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
import { jsonDifferences } from '../support/json-differences.ts';

/**
 * The teardown service end to end: real HTTP into the service, real PostgreSQL and S3 (Ceph),
 * and the DialNexa simulator upstream. Each failure path also asserts what was NOT done.
 */
describe('teardown service (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;

  const upstreamMutations = () => sim.requests.filter((r) => r.method !== 'GET');
  const auditTypes = async (teardownId: string) =>
    (
      await query<{ type: string }>('SELECT type FROM audit_event WHERE teardown_id = $1 ORDER BY seq', [
        teardownId,
      ])
    ).map((r) => r.type);

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 800, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url, { DELETE_SETTLE_TIMEOUT_S: '4' }));
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

  afterEach(() => sim.faults.clear());

  it('archives, verifies and audits a workflow, then cancels and deletes it, in that order', async () => {
    const workflowId = sim.addWorkflow({
      nodes: 5,
      edges: 6,
      leads: 420,
      extraFields: { brand_new_field: { x: 1 } },
    });
    const before = sim.snapshot(workflowId)!;
    // When the cancel arrives upstream, archive.exported must already be committed.
    let exportedCommittedAtCancel: boolean | undefined;
    const unhook = sim.onRequest(async (method, path) => {
      if (method === 'POST' && path.endsWith('/cancel')) {
        const rows = await query(
          `SELECT 1 FROM audit_event WHERE workflow_id = $1 AND type = 'archive.exported'`,
          [workflowId],
        );
        exportedCommittedAtCancel = rows.length === 1;
      }
    });

    const created = await client.create(
      { workflowId, reason: 'GDPR erasure, ticket PRIV-1042', ticket: 'PRIV-1042' },
      { idempotencyKey: 'happy-1' },
    );
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({
      workflowId,
      status: 'queued',
      requestedBy: 'team-a',
      dryRun: false,
    });
    const done = await client.waitForEnd(String(created.body['id']));
    unhook();

    expect(done).toMatchObject({
      status: 'completed',
      error: null,
      progress: { step: 'delete', leadsExported: 420, leadsTotal: 420 },
      archive: { counts: { nodes: 5, edges: 6, leads: 420 } },
    });
    expect(exportedCommittedAtCancel).toBe(true);
    expect(sim.exists(workflowId)).toBe(false);

    // every export GET, then the cancel, then the final snapshot's GETs, then the delete
    const order = sim.requests.filter((r) => r.path.includes(workflowId)).map((r) => r.method);
    const cancelAt = order.indexOf('POST');
    const deleteAt = order.indexOf('DELETE');
    expect(order.filter((m) => m === 'POST')).toHaveLength(1);
    expect(order.slice(0, cancelAt).every((m) => m === 'GET')).toBe(true);
    expect(order.slice(cancelAt + 1, deleteAt).every((m) => m === 'GET')).toBe(true);
    expect(order.slice(deleteAt)).toEqual(['DELETE']);
    const leadPages = sim.requests.filter(
      (r) => r.path.endsWith('/leads') && r.query['status'] === undefined,
    );
    // the export, then the final snapshot after the cancel: each pass asks for page 1 alone, then
    // the others several at a time (DIALNEXA_PAGE_CONCURRENCY), so they arrive in any order
    const pages = leadPages.map((r) => r.query['page']);
    const pass = (from: number): (string | undefined)[] => [
      pages[from],
      ...pages.slice(from + 1, from + 5).sort(),
    ];
    expect(pages).toHaveLength(10);
    expect([pass(0), pass(5)]).toEqual([
      ['1', '2', '3', '4', '5'],
      ['1', '2', '3', '4', '5'],
    ]);
    const cancelSeq = sim.requests.find((r) => r.method === 'POST')!.seq;
    expect(leadPages.slice(0, 5).every((r) => r.seq < cancelSeq)).toBe(true);
    expect(leadPages.slice(5).every((r) => r.seq > cancelSeq)).toBe(true);
    expect(leadPages.every((r) => r.query['limit'] === '100')).toBe(true);
    expect(sim.requests.filter((r) => r.method === 'DELETE' && r.status === 200)).toHaveLength(1);
    // progress counts every request DialNexa saw for the workflow, and expects none once done
    expect(done['progress']).toMatchObject({
      upstreamRequests: sim.requests.filter((r) => r.path.includes(workflowId)).length,
      upstreamRequestsLeft: 0,
      secondsLeft: 0,
      estimatedAt: expect.any(String),
    });

    // the archive is what DialNexa served, every field kept
    const archive = done['archive'] as { manifestKey: string; manifestSha256: string };
    const manifest = JSON.parse((await readObject(archive.manifestKey)).toString('utf8'));
    const objectOf = (name: string) =>
      manifest.objects.find((o: { key: string }) => o.key.endsWith(`/${name}`));
    expect(manifest).toMatchObject({ formatVersion: 1, teardownId: created.body['id'], workflowId });
    // jsonDifferences: -0, own __proto__ keys and 1 MB strings compare exactly, and a failure
    // names the path instead of printing the seed's hostile values whole
    const stored = async (name: string) => JSON.parse((await readObject(objectOf(name).key)).toString());
    expect(jsonDifferences(await stored('workflow.json'), before.workflow, 'workflow.json')).toEqual([]);
    expect(jsonDifferences(await stored('nodes.json'), before.nodes, 'nodes.json')).toEqual([]);
    expect(jsonDifferences(await stored('edges.json'), before.edges, 'edges.json')).toEqual([]);
    expect(
      jsonDifferences(
        parseNdjsonGz(await readObject(objectOf('leads.ndjson.gz').key)),
        before.leads,
        'leads',
      ),
    ).toEqual([]);
    expect(manifest.objects.map((o: { key: string }) => o.key.split('/').pop())).toEqual([
      'workflow.json',
      'nodes.json',
      'edges.json',
      'leads.ndjson.gz',
    ]);

    await expect(auditTypes(String(created.body['id']))).resolves.toEqual([
      'teardown.requested',
      'archive.exported',
      'workflow.cancelled',
      'archive.finalized',
      'workflow.deleted',
      'teardown.completed',
    ]);
    const trail = await client.call<{ data: Array<Record<string, any>> }>(
      'GET',
      `/v1/teardowns/${created.body['id']}/audit`,
    );
    expect(trail.status).toBe(200);
    const exported = trail.body.data.find((e) => e['type'] === 'archive.exported')!;
    expect(exported).toMatchObject({
      actor: 'system',
      details: { manifestKey: archive.manifestKey, manifestSha256: archive.manifestSha256 },
    });
    expect(trail.body.data[0]).toMatchObject({ type: 'teardown.requested', actor: 'team-a' });

    const described = await client.call<Record<string, any>>(
      'GET',
      `/v1/teardowns/${created.body['id']}/archive`,
      {
        key: KEYS.auditor,
      },
    );
    expect(described.status).toBe(200);
    expect(described.body['manifest']).toEqual(manifest);
    const download = await fetch(described.body['objects'][0].url);
    expect(download.status).toBe(200);
  });

  it('stops a dry run after the audit event: no cancel, no delete, the workflow untouched', async () => {
    const workflowId = sim.addWorkflow({ leads: 150 });
    const created = await client.create({ workflowId, reason: 'retention review', dryRun: true });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done).toMatchObject({ status: 'completed', dryRun: true, archive: { counts: { leads: 150 } } });
    expect(upstreamMutations()).toEqual([]);
    expect(sim.exists(workflowId)).toBe(true);
    await expect(auditTypes(String(created.body['id']))).resolves.toEqual([
      'teardown.requested',
      'archive.exported',
      'teardown.completed',
    ]);
  });

  it("archives each lead's history when asked to", async () => {
    const workflowId = sim.addWorkflow({ leads: 25 });
    const created = await client.create({
      workflowId,
      reason: 'with history',
      dryRun: true,
      includeLeadHistory: true,
    });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done['status']).toBe('completed');
    const manifestKey = (done['archive'] as { manifestKey: string }).manifestKey;
    const manifest = JSON.parse((await readObject(manifestKey)).toString('utf8')) as {
      objects: Array<{ key: string; records: number }>;
    };
    const history = manifest.objects.find((o) => o.key.endsWith('/lead-history.ndjson.gz'));
    expect(history?.records).toBe(25);
    const rows = parseNdjsonGz(await readObject(history!.key));
    expect(rows.map((r) => r['id'])).toEqual(sim.snapshot(workflowId)!.leads.map((l) => l['id']));
    expect(sim.requests.filter((r) => r.path.endsWith('/history'))).toHaveLength(25);
  });

  it('waits for leads in transit to settle, archives their final state, then deletes once', async () => {
    const workflowId = sim.addWorkflow({ leads: 200, inTransitLeads: 30 });
    let inTransitAtCancel = -1;
    let inTransitAtDelete = -1;
    const unhook = sim.onRequest((method, path) => {
      if (!path.includes(workflowId)) return;
      if (method === 'POST') inTransitAtCancel = sim.leadsInTransit(workflowId);
      if (method === 'DELETE' && inTransitAtDelete < 0) inTransitAtDelete = sim.leadsInTransit(workflowId);
    });
    const created = await client.create({ workflowId, reason: 'erasure with calls in flight' });
    const done = await client.waitForEnd(String(created.body['id']));
    unhook();
    expect(done['status']).toBe('completed');
    expect(inTransitAtCancel).toBe(30);
    expect(inTransitAtDelete).toBe(0);
    const final = (done['archive'] as { final: { manifestKey: string } }).final;
    const manifest = JSON.parse((await readObject(final.manifestKey)).toString('utf8')) as {
      snapshot: string;
      changedSinceExport: string[];
      objects: Array<{ key: string }>;
    };
    expect(manifest.snapshot).toBe('final');
    expect(manifest.changedSinceExport).toEqual(expect.arrayContaining(['workflow.json', 'leads.ndjson.gz']));
    const leadsKey = manifest.objects.find((o) => o.key.endsWith('/leads.ndjson.gz'))!.key;
    const leads = parseNdjsonGz(await readObject(leadsKey));
    expect(leads).toHaveLength(200);
    const snapshotStatuses = new Map(
      sim.snapshot(workflowId)?.leads.map((l) => [l['id'], l['status']]) ?? [],
    );
    expect(snapshotStatuses.size).toBe(0); // deleted by now: compare against what the final archive holds instead
    expect(leads.filter((l) => l['status'] === 'pending')).toEqual([]);
    expect(sim.requests.filter((r) => r.method === 'DELETE' && r.status === 200)).toHaveLength(1);
  });

  it('fails retryably when leads in transit do not settle after the cancel: no final snapshot, no delete', async () => {
    // leads still in transit long after DELETE_SETTLE_TIMEOUT_S (4 s here)
    const workflowId = sim.addWorkflow({ leads: 40, inTransitLeads: 5, settleMs: 3_600_000 });
    const created = await client.create({ workflowId, reason: 'calls that never end' });
    const id = String(created.body['id']);
    const failed = await client.waitForEnd(id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'DELETE_SETTLE_TIMEOUT', step: 'finalize', retryable: true },
      archive: { final: null },
    });
    expect(sim.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(sim.exists(workflowId)).toBe(true);
    await expect(auditTypes(id)).resolves.toEqual([
      'teardown.requested',
      'archive.exported',
      'workflow.cancelled',
      'teardown.failed',
    ]);
  });

  it('retries a delete answered 409 (leads in transit) with backoff, then deletes once', async () => {
    const workflowId = sim.addWorkflow({ leads: 50, inTransitLeads: 0 });
    sim.faults.inTransitConflictNext(3, { method: 'DELETE' });
    const created = await client.create({ workflowId, reason: 'delete refused while leads settle' });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done['status']).toBe('completed');
    const deletes = sim.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.status)).toEqual([409, 409, 409, 200]);
    expect(deletes[3]!.at - deletes[0]!.at).toBeGreaterThanOrEqual(150); // backoff between tries
  });

  it('fails retryably when the delete is still refused after DELETE_SETTLE_TIMEOUT_S, and a retry finishes it', async () => {
    const workflowId = sim.addWorkflow({ leads: 20, inTransitLeads: 0 });
    sim.faults.inTransitConflictNext(1_000, { method: 'DELETE' });
    const created = await client.create({ workflowId, reason: 'never settles in time' });
    const failed = await client.waitForEnd(String(created.body['id']));
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'DELETE_SETTLE_TIMEOUT', step: 'delete', retryable: true },
    });
    expect(sim.exists(workflowId)).toBe(true);
    sim.faults.clear();
    const getsBefore = sim.requests.filter((r) => r.method === 'GET').length;
    await client.call('POST', `/v1/teardowns/${created.body['id']}/retry`);
    await expect(client.waitForEnd(String(created.body['id']))).resolves.toMatchObject({
      status: 'completed',
    });
    // the retry resumed at the delete: no earlier step ran again
    expect(sim.requests.filter((r) => r.method === 'GET')).toHaveLength(getsBefore);
  });

  it('sends nothing before Retry-After has passed after a 429', async () => {
    const workflowId = sim.addWorkflow({ leads: 300 });
    sim.faults.rateLimitNext(1, { retryAfterS: 2, method: 'GET', path: /\/leads$/ });
    const created = await client.create({ workflowId, reason: 'rate limited export' });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done['status']).toBe('completed');
    const limited = sim.requests.find((r) => r.status === 429)!;
    expect(limited).toBeDefined();
    const after = sim.requests.filter((r) => r.seq > limited.seq);
    expect(after.length).toBeGreaterThan(0);
    expect(after[0]!.at - limited.at).toBeGreaterThanOrEqual(1950);
  });

  it('fails a 403 on delete as not retryable, leaving the workflow and a complete archive', async () => {
    const workflowId = sim.addWorkflow({ leads: 120, inTransitLeads: 0 });
    sim.faults.forbid({ method: 'DELETE' });
    const created = await client.create({ workflowId, reason: 'key without delete permission' });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done).toMatchObject({
      status: 'failed',
      error: { code: 'UPSTREAM_FORBIDDEN', step: 'delete', retryable: false },
      archive: { counts: { leads: 120 } },
    });
    expect(sim.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1); // never retried
    expect(sim.exists(workflowId)).toBe(true);
    await expect(
      objectExists(String((done['archive'] as { manifestKey: string }).manifestKey)),
    ).resolves.toBe(true);
    await expect(auditTypes(String(created.body['id']))).resolves.toEqual([
      'teardown.requested',
      'archive.exported',
      'workflow.cancelled',
      'archive.finalized',
      'teardown.failed',
    ]);
    const retry = await client.call('POST', `/v1/teardowns/${created.body['id']}/retry`);
    expect(retry).toMatchObject({ status: 409, body: { code: 'TEARDOWN_NOT_RETRYABLE' } });
  });

  it('understands a 409 after a cancel whose answer was lost, because the attempt was recorded first', async () => {
    const workflowId = sim.addWorkflow({ leads: 60, inTransitLeads: 0 });
    sim.faults.dropAfterPerformNext(1, { method: 'POST', path: /\/cancel$/ });
    const created = await client.create({ workflowId, reason: 'lost cancel answer' });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done['status']).toBe('completed');
    const cancels = sim.requests.filter((r) => r.method === 'POST');
    expect(cancels.map((r) => r.status)).toEqual([0, 409]);
    const [cancelled] = await query<{ details: Record<string, unknown> }>(
      `SELECT details FROM audit_event WHERE teardown_id = $1 AND type = 'workflow.cancelled'`,
      [created.body['id']],
    );
    expect(cancelled!.details).toMatchObject({ outcome: 'already_terminal' });
  });

  it('takes a 404 after a DELETE whose answer was lost as its own deletion', async () => {
    const workflowId = sim.addWorkflow({ leads: 60, inTransitLeads: 0 });
    sim.faults.dropAfterPerformNext(1, { method: 'DELETE' });
    const created = await client.create({ workflowId, reason: 'lost delete answer' });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done['status']).toBe('completed');
    expect(sim.requests.filter((r) => r.method === 'DELETE').map((r) => [r.status, r.performed])).toEqual([
      [0, true],
      [404, true],
    ]);
    const [deleted] = await query<{ details: Record<string, unknown> }>(
      `SELECT details FROM audit_event WHERE teardown_id = $1 AND type = 'workflow.deleted'`,
      [created.body['id']],
    );
    expect(deleted!.details).toMatchObject({ confirmation: 'confirmed_by_404_after_unanswered_delete' });
  });

  it('does not take a 404 to its first DELETE as its own deletion (someone else deleted the workflow)', async () => {
    const workflowId = sim.addWorkflow({ leads: 60, inTransitLeads: 0 });
    let removed = false;
    const unhook = sim.onRequest(async (method, path) => {
      if (!removed && method === 'DELETE' && path.includes(workflowId)) {
        removed = true;
        await fetch(`${sim.url}/v1/workflows/${workflowId}`, {
          method: 'DELETE',
          headers: { authorization: 'Bearer dnx_test_simulator_key_0001' },
        });
      }
    });
    const created = await client.create({ workflowId, reason: 'deleted behind our back' });
    const done = await client.waitForEnd(String(created.body['id']));
    unhook();
    expect(done).toMatchObject({
      status: 'failed',
      error: { code: 'WORKFLOW_GONE', step: 'delete', retryable: false },
    });
    await expect(auditTypes(String(created.body['id']))).resolves.not.toContain('workflow.deleted');
  });

  it('fails a missing workflow at the export: no cancel, no delete, no manifest', async () => {
    const created = await client.create({ workflowId: 'wfl_doesnotexist1', reason: 'typo in the id' });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done).toMatchObject({
      status: 'failed',
      archive: null,
      error: { code: 'WORKFLOW_NOT_FOUND', step: 'export', retryable: false },
    });
    expect(upstreamMutations()).toEqual([]);
    await expect(
      objectExists(
        `${service.config.archive.prefix}wfl_doesnotexist1/${String(created.body['id'])}/manifest.json`,
      ),
    ).resolves.toBe(false);
    await expect(auditTypes(String(created.body['id']))).resolves.toEqual([
      'teardown.requested',
      'teardown.failed',
    ]);
  });

  it('fails an export the upstream keeps refusing (5xx) as retryable, sends nothing that changes the workflow, and a retry completes it', async () => {
    const workflowId = sim.addWorkflow({ leads: 100, inTransitLeads: 0 });
    sim.faults.failNext(1_000, { status: 503, method: 'GET', path: /\/leads$/ });
    const created = await client.create({ workflowId, reason: 'upstream down' });
    const failed = await client.waitForEnd(String(created.body['id']));
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'UPSTREAM_UNAVAILABLE', step: 'export', retryable: true },
    });
    expect(upstreamMutations()).toEqual([]);
    await expect(auditTypes(String(created.body['id']))).resolves.not.toContain('archive.exported');

    sim.faults.clear();
    const retried = await client.call('POST', `/v1/teardowns/${created.body['id']}/retry`);
    expect(retried).toMatchObject({ status: 202, body: { status: 'queued', attempt: 2 } });
    const done = await client.waitForEnd(String(created.body['id']));
    expect(done).toMatchObject({ status: 'completed', attempt: 2 });
    expect(sim.exists(workflowId)).toBe(false);
  });

  it('aborts before the cancel: the workflow stays, the archive is kept and marked as not followed by a deletion', async () => {
    const workflowId = sim.addWorkflow({ leads: 100 });
    sim.faults.delay(400, { method: 'GET' }); // a slow export, so the abort lands during it
    const created = await client.create({ workflowId, reason: 'will be aborted' });
    const id = String(created.body['id']);
    const aborted = await client.call('POST', `/v1/teardowns/${id}/abort`);
    expect(aborted).toMatchObject({ status: 200, body: { status: 'aborted' } });
    sim.faults.clear();
    await new Promise((r) => setTimeout(r, 1500));
    expect(upstreamMutations()).toEqual([]);
    expect(sim.exists(workflowId)).toBe(true);
    const trail = await query<{ type: string; details: Record<string, unknown> }>(
      `SELECT type, details FROM audit_event WHERE teardown_id = $1 ORDER BY seq`,
      [id],
    );
    expect(trail.map((e) => e.type)).toEqual(['teardown.requested', 'teardown.aborted']);
    expect(trail[1]!.details).toMatchObject({ followedByDeletion: false });
    await expect(client.get(id)).resolves.toMatchObject({ body: { status: 'aborted' } });
    const marker = JSON.parse(
      (await readObject(`${service.config.archive.prefix}${workflowId}/${id}/outcome.json`)).toString('utf8'),
    );
    expect(marker).toMatchObject({
      teardownId: id,
      status: 'aborted',
      followedByDeletion: false,
      abortedBy: 'team-a',
    });
    const again = await client.call('POST', `/v1/teardowns/${id}/abort`);
    expect(again).toMatchObject({ status: 409, body: { code: 'TEARDOWN_NOT_ABORTABLE' } });
  });

  it('refuses a second teardown of the same workflow while one is unfinished (409 with its id)', async () => {
    const workflowId = sim.addWorkflow({ leads: 50 });
    sim.faults.delay(300, { method: 'GET' });
    const first = await client.create({ workflowId, reason: 'first request' });
    const second = await client.create(
      { workflowId, reason: 'second request' },
      { key: KEYS.otherRequester },
    );
    expect(second).toMatchObject({
      status: 409,
      body: { code: 'TEARDOWN_IN_PROGRESS', details: { teardownId: first.body['id'] } },
    });
    sim.faults.clear();
    await client.waitForEnd(String(first.body['id']));
  });

  it('replays an Idempotency-Key with the same body and refuses it with another body', async () => {
    const workflowId = sim.addWorkflow({ leads: 10 });
    const body = { workflowId, reason: 'idempotent request', dryRun: true };
    const first = await client.create(body, { idempotencyKey: 'key-42' });
    const replay = await client.create(body, { idempotencyKey: 'key-42' });
    expect(first.status).toBe(202);
    expect(replay.status).toBe(200);
    expect(replay.body['id']).toBe(first.body['id']);
    const reused = await client.create({ ...body, reason: 'another body' }, { idempotencyKey: 'key-42' });
    expect(reused).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    // another caller's identical key is its own
    const other = await client.create(
      { ...body, workflowId: sim.addWorkflow({ leads: 5 }) },
      {
        key: KEYS.otherRequester,
        idempotencyKey: 'key-42',
      },
    );
    expect(other.status).toBe(202);
    await client.waitForEnd(String(first.body['id']));
    await client.waitForEnd(String(other.body['id']));
    const rows = await query(`SELECT id FROM teardown WHERE workflow_id = $1`, [workflowId]);
    expect(rows).toHaveLength(1);
  });

  describe('validation', () => {
    it.each([
      [{ reason: 'no workflow id' }, 'workflowId'],
      [{ workflowId: '../../etc/passwd', reason: 'path traversal' }, 'workflowId'],
      [{ workflowId: 'wfl_ok', reason: 'x' }, 'reason'],
      [{ workflowId: 'wfl_ok', reason: 'fine reason', dryRun: 'yes' }, 'dryRun'],
      [{ workflowId: 'wfl_ok', reason: 'fine reason', ticket: 'T'.repeat(201) }, 'ticket'],
      [{ workflowId: 'wfl_ok', reason: 'fine reason', surprise: 1 }, '(body)'],
    ])('refuses %j with 400 naming %s, creating nothing', async (body, field) => {
      const answer = await client.create(body);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'VALIDATION_FAILED' });
      expect(
        (answer.body['details'] as { fields: Array<{ field: string }> }).fields.map((f) => f.field),
      ).toContain(field);
      await expect(query(`SELECT id FROM teardown WHERE workflow_id = 'wfl_ok'`)).resolves.toEqual([]);
    });

    it('refuses malformed JSON with the error shape', async () => {
      const answer = await client.call('POST', '/v1/teardowns', { rawBody: '{"workflowId": ' });
      expect(answer).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    });

    it('refuses an Idempotency-Key that is too long', async () => {
      const answer = await client.create(
        { workflowId: 'wfl_ok', reason: 'fine reason' },
        { idempotencyKey: 'k'.repeat(256) },
      );
      expect(answer).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    });

    it('answers unknown routes with ROUTE_NOT_FOUND', async () => {
      const answer = await client.call('GET', '/v1/nothing-here');
      expect(answer).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND' } });
    });
  });

  describe('authentication and roles', () => {
    it('answers 401 without a key and with an unknown key', async () => {
      await expect(client.call('GET', '/v1/teardowns', { key: null })).resolves.toMatchObject({
        status: 401,
        body: { code: 'UNAUTHENTICATED' },
      });
      await expect(
        client.call('GET', '/v1/teardowns', { key: 'not-a-key-of-ours-000' }),
      ).resolves.toMatchObject({
        status: 401,
        body: { code: 'UNAUTHENTICATED' },
      });
    });

    it('answers 403 to a caller without the role', async () => {
      const auditorCreates = await client.create(
        { workflowId: 'wfl_x', reason: 'auditors cannot' },
        { key: KEYS.auditor },
      );
      expect(auditorCreates).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
      const requesterVerifies = await client.call('GET', '/v1/audit/verify');
      expect(requesterVerifies.status).toBe(403);
    });

    it("hides another requester's teardown (404) but shows it to auditors", async () => {
      const workflowId = sim.addWorkflow({ leads: 5 });
      const created = await client.create({ workflowId, reason: 'private to team-a', dryRun: true });
      const id = String(created.body['id']);
      await expect(client.get(id, KEYS.otherRequester)).resolves.toMatchObject({
        status: 404,
        body: { code: 'TEARDOWN_NOT_FOUND' },
      });
      await expect(client.get(id, KEYS.auditor)).resolves.toMatchObject({ status: 200 });
      const listed = await client.call<{ data: Array<{ id: string }> }>('GET', '/v1/teardowns', {
        key: KEYS.otherRequester,
      });
      expect(listed.body.data.map((t) => t.id)).not.toContain(id);
      await client.waitForEnd(id);
    });

    it('lists newest first with a cursor', async () => {
      const page1 = await client.call<{ data: Array<{ id: string }>; nextCursor: string | null }>(
        'GET',
        '/v1/teardowns?limit=2',
        { key: KEYS.auditor },
      );
      expect(page1.status).toBe(200);
      expect(page1.body.data).toHaveLength(2);
      expect(page1.body.nextCursor).toBe(page1.body.data[1]!.id);
      const page2 = await client.call<{ data: Array<{ id: string }> }>(
        'GET',
        `/v1/teardowns?limit=2&cursor=${page1.body.nextCursor}`,
        { key: KEYS.auditor },
      );
      expect(page2.body.data[0]!.id < page1.body.data[1]!.id).toBe(true);
    });

    it('keeps the audit chain verifiable', async () => {
      const verified = await client.call('GET', '/v1/audit/verify', { key: KEYS.auditor });
      expect(verified).toMatchObject({ status: 200, body: { ok: true } });
    });
  });

  describe('operations', () => {
    it('is live and ready when the database, the bucket and DialNexa answer', async () => {
      await expect(client.call('GET', '/healthz', { key: null })).resolves.toMatchObject({ status: 200 });
      const ready = await client.call('GET', '/readyz', { key: null });
      expect(ready).toMatchObject({
        status: 200,
        body: {
          status: 'ready',
          checks: { database: { ok: true }, bucket: { ok: true }, upstream: { ok: true } },
        },
      });
    });
  });
});
