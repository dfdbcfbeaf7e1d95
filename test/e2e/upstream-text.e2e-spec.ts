import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
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
 * DialNexa's error messages are long and hold any Unicode. Issue 7: a 403 on the cancel whose
 * message had an emoji at character 300 was cut through the emoji; PostgreSQL refused the
 * failure's audit event, so the teardown stayed `cancelling` with `error: null` and sent the
 * cancel again on every claim. Whatever the message, the failure is recorded once, and the
 * cancel is sent once.
 */

/** The first `count` code points of `text` repeated as needed (never half a surrogate pair). */
function codePoints(text: string, count: number): string {
  const units = [...text];
  return Array.from({ length: count }, (_, i) => units[i % units.length]).join('');
}

const EMOJI_AT_THE_CUT = `${'x'.repeat(299)}😀${codePoints('é😀 שלום 👍🏽 e\u0301 🇫🇷 ', 700)}`;
const NUL_AND_LONE_SURROGATES = codePoints('a\u0000b\ud800c\udc00😀 \udbff\u0000', 1000);

describe('upstream text (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;

  const requestsTo = (workflowId: string, method: string) =>
    sim.requests.filter((r) => r.method === method && r.path.includes(workflowId));
  const auditOf = async (teardownId: string) =>
    query<{ type: string; details: Record<string, unknown> }>(
      'SELECT type, details FROM audit_event WHERE teardown_id = $1 ORDER BY seq',
      [teardownId],
    );

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 0, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    // a sweep every second: a teardown left running would be claimed (and its cancel resent) at once
    service = await startService(serviceEnv(sim.url, { RUNNER_SWEEP_INTERVAL_S: '1' }));
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

  it('records a 403 on the cancel whose 1,000-character message has an emoji at the cut, and sends the cancel once', async () => {
    expect([...EMOJI_AT_THE_CUT]).toHaveLength(1000);
    const workflowId = sim.addWorkflow({ leads: 20, inTransitLeads: 0 });
    sim.faults.forbid({ method: 'POST', path: /\/cancel$/, message: EMOJI_AT_THE_CUT });

    const created = await client.create({ workflowId, reason: 'cancel refused with a long message' });
    const id = String(created.body['id']);
    const done = await client.waitForEnd(id, 30_000);

    const cancelPath = `/v1/workflows/${workflowId}/cancel`;
    expect(done).toMatchObject({
      status: 'failed',
      error: {
        code: 'UPSTREAM_FORBIDDEN',
        step: 'cancel',
        retryable: false,
        // cut before the emoji, not through it
        message: `DialNexa answered 403 to POST ${cancelPath}: ${'x'.repeat(299)}…`,
      },
    });
    const events = await auditOf(id);
    expect(events.map((e) => e.type)).toEqual(['teardown.requested', 'archive.exported', 'teardown.failed']);
    expect(events[2]!.details).toMatchObject({
      code: 'UPSTREAM_FORBIDDEN',
      message: (done['error'] as { message: string }).message,
    });
    // what was NOT done: no second cancel (a failure is recorded once; no claim runs it again), no delete
    await sleep(2_500);
    expect(requestsTo(workflowId, 'POST').map((r) => [r.path, r.status])).toEqual([[cancelPath, 403]]);
    expect(requestsTo(workflowId, 'DELETE')).toEqual([]);
    expect(sim.exists(workflowId)).toBe(true);
    await expect(client.get(id, KEYS.admin)).resolves.toMatchObject({ body: { status: 'failed' } });
    await expect(client.call('GET', '/v1/audit/verify', { key: KEYS.auditor })).resolves.toMatchObject({
      status: 200,
      body: { ok: true },
    });
  });

  it('records a 403 on the cancel whose 1,000-character message holds U+0000 and lone surrogates, made storable', async () => {
    const workflowId = sim.addWorkflow({ leads: 20, inTransitLeads: 0 });
    sim.faults.forbid({ method: 'POST', path: /\/cancel$/, message: NUL_AND_LONE_SURROGATES });

    const created = await client.create({ workflowId, reason: 'cancel refused with unstorable text' });
    const id = String(created.body['id']);
    const done = await client.waitForEnd(id, 30_000);

    expect(done).toMatchObject({
      status: 'failed',
      error: { code: 'UPSTREAM_FORBIDDEN', step: 'cancel', retryable: false },
    });
    const message = (done['error'] as { message: string }).message;
    const prefix = `DialNexa answered 403 to POST /v1/workflows/${workflowId}/cancel: `;
    expect(message.startsWith(prefix)).toBe(true);
    // each U+0000 and lone surrogate is now U+FFFD; the emoji stay; cut at 300 code points
    const upstream = message.slice(prefix.length);
    expect(upstream).toMatch(/^a\uFFFDb\uFFFDc\uFFFD😀 \uFFFD\uFFFDa/);
    expect(upstream.isWellFormed()).toBe(true);
    expect(upstream).not.toContain('\u0000');
    expect([...upstream]).toHaveLength(300);
    expect(upstream.endsWith('…')).toBe(true);
    const events = await auditOf(id);
    expect(events.map((e) => e.type)).toEqual(['teardown.requested', 'archive.exported', 'teardown.failed']);
    expect(events[2]!.details['message']).toBe(message);
    await sleep(2_500);
    expect(requestsTo(workflowId, 'POST')).toHaveLength(1);
    expect(requestsTo(workflowId, 'DELETE')).toEqual([]);
    expect(sim.exists(workflowId)).toBe(true);
    await expect(client.call('GET', '/v1/audit/verify', { key: KEYS.auditor })).resolves.toMatchObject({
      status: 200,
      body: { ok: true },
    });
  });

  it('records a 403 on the export with such a message, and sends no cancel and no delete', async () => {
    const workflowId = sim.addWorkflow({ leads: 5 });
    sim.faults.forbid({
      method: 'GET',
      path: new RegExp(`/workflows/${workflowId}$`),
      message: [EMOJI_AT_THE_CUT, NUL_AND_LONE_SURROGATES],
    });

    const created = await client.create({ workflowId, reason: 'export refused with unstorable text' });
    const id = String(created.body['id']);
    const done = await client.waitForEnd(id, 30_000);

    expect(done).toMatchObject({
      status: 'failed',
      archive: null,
      error: {
        code: 'UPSTREAM_FORBIDDEN',
        step: 'export',
        retryable: false,
        message: `DialNexa answered 403 to GET /v1/workflows/${workflowId}: ${'x'.repeat(299)}…`,
      },
    });
    const events = await auditOf(id);
    expect(events.map((e) => e.type)).toEqual(['teardown.requested', 'teardown.failed']);
    expect(requestsTo(workflowId, 'POST')).toEqual([]);
    expect(requestsTo(workflowId, 'DELETE')).toEqual([]);
    expect(sim.snapshot(workflowId)!.workflow['status']).toBe('active');
  });
});
