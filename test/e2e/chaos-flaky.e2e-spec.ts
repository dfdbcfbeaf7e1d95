import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  api,
  Campaign,
  ChaosService,
  chaosEnv,
  checkTeardown,
  type CheckOutcome,
  Db,
  leadIdsOf,
} from '../chaos/harness.js';
import { DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';

const LONG = process.env['CHAOS_LONG'] === '1';

/**
 * A flaky upstream: 20% of requests answered 503 or reset and 10% answered 429, and DialNexa
 * down for longer than the retry budget (the teardown fails retryably; POST /retry resumes it at
 * the failed step without redoing the finished ones).
 */
describe('flaky upstream (e2e, separate process)', () => {
  let sim: DialnexaSimulator;
  let db: Db;
  let env: Record<string, string>;
  let service: ChaosService | null = null;
  const campaign = new Campaign();

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 200, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    await sim.start();
    db = new Db();
    await db.reset();
  });

  afterEach(async () => {
    await service?.stop();
    service = null;
    sim.faults.clear();
  });

  afterAll(async () => {
    console.log(`flaky upstream:\n${Campaign.table(campaign.rows)}`);
    await sim?.stop();
    await db?.close();
  });

  it('completes every teardown with an archive equal to the workflow under 20% 5xx/resets and 10% 429', async () => {
    const started = Date.now();
    env = chaosEnv(sim.url);
    service = await new ChaosService(env).start();
    const client = api(service.url);
    const count = LONG ? 16 : 5;
    const workflows = Array.from({ length: count }, () => sim.addWorkflow({ leads: 230, inTransitLeads: 0 }));
    const leadIds = new Map(workflows.map((w) => [w, leadIdsOf(sim, w)]));
    sim.faults.random({ errorRate: 0.1, resetRate: 0.1, rateLimitRate: 0.1, seed: LONG ? Date.now() : 42 });
    const ids = await Promise.all(workflows.map((w) => client.create(w)));
    let failedRetryably = 0;
    const ends = await Promise.all(
      ids.map(async (id) => {
        for (let round = 0; ; round++) {
          const end = await client.waitForEnd(id, 120_000);
          if (end['status'] === 'failed' && end['error']?.retryable && round < 3) {
            failedRetryably++;
            const retried = await client.retry(id);
            if (retried.status === 202 || retried.status === 200) continue;
            throw new Error(`the retry of ${id} answered ${retried.status}: ${JSON.stringify(retried.body)}`);
          }
          return end;
        }
      }),
    );
    sim.faults.clear();
    const outcomes: CheckOutcome[] = [];
    for (const [i, id] of ids.entries()) {
      outcomes.push(
        await checkTeardown({
          id,
          workflowId: workflows[i]!,
          prefix: env['ARCHIVE_PREFIX']!,
          db,
          sim,
          leadIds: leadIds.get(workflows[i]!),
          expectStatus: 'completed',
        }),
      );
    }
    const faults = sim.requests.filter((r) => !r.performed || r.status >= 429).length;
    campaign.add('flaky upstream (30% faults)', outcomes, started, [], failedRetryably);
    expect(faults).toBeGreaterThan(10); // the faults did happen
    expect(ends.map((e) => e['status'])).toEqual(ids.map(() => 'completed'));
    expect(outcomes.flatMap((o) => o.violations)).toEqual([]);
  }, 300_000);

  it.each([
    ['delete', { method: 'DELETE' }],
    ['export', {}],
  ] as const)(
    'DialNexa down past the retry budget at %s: failed+retryable, then /retry completes without redoing finished steps',
    async (step, match) => {
      const started = Date.now();
      env = chaosEnv(sim.url, { DIALNEXA_MAX_ATTEMPTS: '3' });
      service = await new ChaosService(env).start();
      const client = api(service.url);
      const workflowId = sim.addWorkflow({ leads: 150, inTransitLeads: 0 });
      const leadIds = leadIdsOf(sim, workflowId);
      sim.faults.failNext(100_000, {
        ...match,
        path: new RegExp(`^/v1/workflows/${workflowId}`),
        status: 503,
      });
      const id = await client.create(workflowId);
      const failed = await client.waitForEnd(id, 60_000);
      expect(failed).toMatchObject({ status: 'failed', error: { step, retryable: true } });
      const mine = () => sim.requests.filter((r) => r.path.startsWith(`/v1/workflows/${workflowId}`));
      // failed at export: nothing was changed upstream and nothing audited as exported
      expect(step === 'export' ? mine().filter((r) => r.method !== 'GET') : []).toEqual([]);
      await expect(
        step === 'export' ? db.hasEvent(id, 'archive.exported') : Promise.resolve(false),
      ).resolves.toBe(false);
      expect(mine().filter((r) => r.method === 'DELETE' && r.performed)).toEqual([]);

      sim.faults.clear();
      const mark = mine().length;
      const retried = await client.retry(id);
      expect([200, 202]).toContain(retried.status);
      const done = await client.waitForEnd(id, 60_000);
      expect(done['status']).toBe('completed');
      const after = mine().slice(mark);
      // failed at delete: export, verify, audit, cancel and finalize were finished, only the DELETE is sent again
      const resent = after.map((r) => `${r.method} ${r.path}`);
      expect(step === 'delete' ? resent : null).toEqual(
        step === 'delete' ? [`DELETE /v1/workflows/${workflowId}`] : null,
      );
      const outcome = await checkTeardown({
        id,
        workflowId,
        prefix: env['ARCHIVE_PREFIX']!,
        db,
        sim,
        leadIds,
        expectStatus: 'completed',
      });
      campaign.add(`DialNexa down at ${step}, then /retry`, [outcome], started, [], 1);
      expect(outcome.violations).toEqual([]);
      expect(outcome.auditTypes.filter((t) => t === 'teardown.failed')).toHaveLength(1);
    },
    120_000,
  );
});
