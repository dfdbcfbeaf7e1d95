import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  api,
  auditChainOk,
  Campaign,
  ChaosService,
  chaosEnv,
  checkTeardown,
  type CheckOutcome,
  Db,
  leadIdsOf,
  sleep,
  until,
} from '../chaos/harness.js';
import { DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';

const LONG = process.env['CHAOS_LONG'] === '1';

/**
 * Two dist/main.js processes on one database: every teardown runs exactly once; a killed
 * replica's teardowns are taken over after its lease expires; a replica whose lease was taken
 * over sends nothing upstream (fencing).
 */
describe('two replicas (e2e, separate processes)', () => {
  let sim: DialnexaSimulator;
  let db: Db;
  let replicas: ChaosService[] = [];
  const campaign = new Campaign();

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 100, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    await sim.start();
    db = new Db();
    await db.reset();
  });

  afterEach(async () => {
    sim.faults.clear();
    await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
  });

  afterAll(async () => {
    console.log(`two replicas:\n${Campaign.table(campaign.rows)}`);
    await sim?.stop();
    await db?.close();
  });

  async function startReplicas(overrides: Record<string, string> = {}) {
    const env = chaosEnv(sim.url, { RUNNER_LEASE_SECONDS: '3', RUNNER_SWEEP_INTERVAL_S: '1', ...overrides });
    replicas = await Promise.all([
      new ChaosService(env, 'replica-a').start(),
      new ChaosService(env, 'replica-b').start(),
    ]);
    return env;
  }

  async function checkAll(
    env: Record<string, string>,
    items: Array<{ id: string; workflowId: string; leadIds: string[] }>,
  ) {
    const outcomes: CheckOutcome[] = [];
    for (const item of items) {
      outcomes.push(
        await checkTeardown({ ...item, prefix: env['ARCHIVE_PREFIX']!, db, sim, expectStatus: 'completed' }),
      );
    }
    return outcomes;
  }

  it(`runs ${LONG ? 150 : 50} teardowns between them, each exactly once`, async () => {
    const started = Date.now();
    const env = await startReplicas();
    const n = LONG ? 150 : 50;
    const items = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const workflowId = sim.addWorkflow({ leads: 30, nodes: 3, edges: 2, inTransitLeads: 0 });
        const leadIds = leadIdsOf(sim, workflowId);
        const id = await api(replicas[i % 2]!.url).create(workflowId);
        return { id, workflowId, leadIds };
      }),
    );
    await Promise.all(items.map((t) => api(replicas[0]!.url).waitForEnd(t.id, 180_000)));
    const outcomes = await checkAll(env, items);
    const chain = await auditChainOk(replicas[0]!.url);
    const row = campaign.add(`two replicas, ${n} teardowns`, outcomes, started, chain ? [chain] : []);
    expect(row.violations).toEqual([]);
    expect(outcomes.map((o) => o.deletesPerformed)).toEqual(items.map(() => 1));
    // each ran once: with no fault injected, one cancel and one DELETE sent per workflow
    expect(outcomes.map((o) => `${o.cancelsSent}/${o.deletesSent}`)).toEqual(items.map(() => '1/1'));
  }, 240_000);

  it("a killed replica's teardowns are taken over after the lease expires, and all complete", async () => {
    const started = Date.now();
    const env = await startReplicas();
    const [a, b] = replicas as [ChaosService, ChaosService];
    sim.faults.delay(150, { method: 'GET', path: /\/leads$/ }); // keep the exports running a while
    const n = LONG ? 30 : 12;
    const items = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const workflowId = sim.addWorkflow({ leads: 350, nodes: 3, edges: 2, inTransitLeads: 0 });
        const leadIds = leadIdsOf(sim, workflowId);
        const id = await api((i % 2 ? a : b).url).create(workflowId);
        return { id, workflowId, leadIds };
      }),
    );
    // kill replica A while it holds leases
    const ownedByA = await until(
      'replica A to hold teardowns',
      async () => {
        const rows = await db.query(
          `SELECT id FROM teardown WHERE lease_owner LIKE $1 AND status <> 'completed'`,
          [`%:${await pidOf(a)}:%`],
        );
        return rows.length >= 2 ? rows.map((r) => String(r['id'])) : false;
      },
      30_000,
      20,
    );
    const killedAt = Date.now();
    await a.killNow();
    await Promise.all(items.map((t) => api(b.url).waitForEnd(t.id, 120_000)));
    const tookOver = Date.now() - killedAt;
    sim.faults.clear();
    const outcomes = await checkAll(env, items);
    const row = campaign.add('two replicas, one killed mid-run', outcomes, started);
    console.log(
      `replica A held ${ownedByA.length} teardowns when killed; all ${n} completed ${Math.round(tookOver / 100) / 10} s after`,
    );
    expect(row.violations).toEqual([]);
    expect(tookOver).toBeGreaterThan(3000); // not before the lease expired
    const reOwned = await db.query(`SELECT id, lease_owner, fencing_token FROM teardown WHERE id = ANY($1)`, [
      ownedByA,
    ]);
    expect(reOwned.every((r) => Number(r['fencing_token']) >= 2)).toBe(true);
  }, 180_000);

  /*
   * A replica paused (GC pause, SIGSTOP, a stalled VM) while it owns a teardown loses its lease;
   * the other replica takes the teardown over. When the paused one wakes up, it must not send a
   * cancel or DELETE for a teardown it no longer owns.
   */
  it('a replica whose lease was taken over sends no DELETE (fencing)', async () => {
    const env = await startReplicas({ RUNNER_STEP_ATTEMPTS: '2', RUNNER_LEASE_SECONDS: '2' });
    const [a, b] = replicas as [ChaosService, ChaosService];
    await b.stop(); // A alone claims the teardown
    const workflowId = sim.addWorkflow({ leads: 20, nodes: 3, edges: 2, inTransitLeads: 0 });
    const path = `/v1/workflows/${workflowId}`;
    // A's two DELETEs are answered 503: A's delete step fails retryably and A backs off before
    // re-running it. A is paused right then (SIGSTOP), so its lease expires and B takes over.
    sim.faults.failNext(2, { method: 'DELETE', path: new RegExp(`^${path}$`), status: 503 });
    let deletesArrived = 0;
    const unhook = sim.onRequest((method, p) => {
      if (method !== 'DELETE' || p !== path) return;
      deletesArrived++;
      if (deletesArrived === 2) a.pause();
      if (deletesArrived === 3) sim.faults.hang({ method: 'DELETE' }); // B's DELETE stays in flight
    });
    const id = await api(a.url).create(workflowId);
    await until('A paused after its second DELETE', () => deletesArrived >= 2, 60_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${a.output.slice(-3000)}`);
      },
    );
    const b2 = await new ChaosService(env, 'replica-b2').start();
    replicas.push(b2);
    await until("B's DELETE in flight", () => deletesArrived >= 3, 30_000);
    const row = await db.row(id);
    expect(String(row?.['lease_owner'])).toContain(`:${await pidOf(b2)}:`);
    a.resume(); // A wakes up: its lease is gone, B owns the teardown
    await sleep(3000);
    const afterTakeover = deletesArrived - 2;
    unhook();
    sim.faults.clear();
    await api(b2.url).waitForEnd(id, 30_000);
    const outcome = await checkTeardown({ id, workflowId, prefix: env['ARCHIVE_PREFIX']!, db, sim });
    campaign.add(
      'fencing: paused replica wakes after takeover',
      [outcome],
      Date.now(),
      afterTakeover > 1
        ? [`${afterTakeover} DELETEs sent after the takeover: the replica that lost its lease sent one`]
        : [],
    );
    expect(afterTakeover).toBe(1);
    expect(outcome.violations).toEqual([]);
  }, 120_000);
});

async function pidOf(service: ChaosService): Promise<number> {
  // the worker id is `${hostname}:${pid}:${random}`; the child's pid is the process's
  return (service as unknown as { child: { pid: number } }).child.pid;
}
