import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  api,
  DialnexaSimulator,
  freePort,
  KEYS,
  resetDatabase,
  serviceEnv,
  ServiceProcess,
} from '../support/e2e-harness.js';

type Json = Record<string, any>;

/**
 * The built service killed with SIGKILL in the middle of a restore's creating step, as DialNexa
 * receives a create (which it then performs: the answer is lost with the process), and started
 * again: the restore resumes from its intent log and completes with exactly one workflow and one
 * copy of each node, edge and lead.
 */
describe('restore crash recovery (e2e, separate process)', () => {
  let sim: DialnexaSimulator;
  let service: ServiceProcess | null = null;
  let env: Record<string, string>;

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 100, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    env = serviceEnv(sim.url, { RUNNER_LEASE_SECONDS: '3', RUNNER_SWEEP_INTERVAL_S: '1' });
  });

  afterEach(async () => {
    await service?.stop();
    service = null;
  });

  afterAll(async () => {
    await sim?.stop();
  });

  async function waitForRestore(url: string, id: string): Promise<Json> {
    const deadline = Date.now() + 60_000;
    let last: Json = {};
    while (Date.now() < deadline) {
      last = (await api(url).call<Json>('GET', `/v1/restores/${id}`, { key: KEYS.admin })).body;
      if (last['status'] === 'completed' || last['status'] === 'failed') return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`restore ${id} did not finish: ${JSON.stringify(last)}`);
  }

  it.each([
    ['the third node create', '/nodes', 3],
    ['the second edge create', '/edges', 2],
    ['the lead upload', '/leads', 1],
  ])(
    'resumes a restore killed at %s: one workflow, one copy of each object',
    async (_, suffix, nth) => {
      const port = await freePort();
      service = new ServiceProcess(env);
      await service.start(port);
      const workflowId = sim.addWorkflow({ nodes: 5, edges: 5, leads: 60 });
      const created = await api(service.url).create({ workflowId, reason: 'crash test' });
      const teardown = await api(service.url).waitForEnd(String(created.body['id']));
      expect(teardown['status']).toBe('completed');
      const workflowCreates = () =>
        sim.requests.filter((r) => r.method === 'POST' && r.path === '/v1/workflows').length;
      const before = workflowCreates();

      let seen = 0;
      let killed = false;
      const victim = service;
      const unhook = sim.onRequest(async (method, path) => {
        if (!killed && method === 'POST' && path.endsWith(suffix) && ++seen === nth) {
          killed = true;
          await victim.killNow();
        }
      });
      const started = await api(service.url).call<Json>('POST', '/v1/restores', {
        key: KEYS.admin,
        body: { teardownId: teardown['id'], reason: 'crash test', excludeLeadStatuses: [] },
      });
      expect(started.status).toBe(202);
      const deadline = Date.now() + 20_000;
      while (!killed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      unhook();
      expect(killed).toBe(true);

      service = new ServiceProcess(env);
      await service.start(port);
      const done = await waitForRestore(service.url, String(started.body['id']));

      expect([done['status'], done['error']]).toEqual(['completed', null]);
      expect(workflowCreates() - before).toBe(1);
      const restored = sim.snapshot(String(done['newWorkflowId']))!;
      expect(restored.nodes).toHaveLength(5);
      expect(restored.edges).toHaveLength(5);
      expect(new Set(restored.nodes.map((n) => n.id))).toEqual(
        new Set(Object.values(done['idMap']['nodes'])),
      );
      expect(restored.leads.length).toBe(Object.keys(done['idMap']['leads']).length);
      expect(restored.leads.length).toBe(done['progress']['leads']['total']);
    },
    120_000,
  );
});
