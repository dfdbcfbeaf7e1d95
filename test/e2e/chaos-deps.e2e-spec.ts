import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  api,
  Campaign,
  ChaosService,
  chaosEnv,
  checkTeardown,
  Db,
  leadIdsOf,
  S3Proxy,
  sleep,
  ThrowawayPostgres,
  until,
} from '../chaos/harness.js';
import { DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';

/**
 * Dependencies down mid-teardown: the S3 store unreachable during the upload (connections reset,
 * or held unanswered), and PostgreSQL restarted (a throwaway cluster: the machine's server is
 * shared). The teardown waits or fails retryably, sends no cancel or DELETE while a dependency is
 * broken, /readyz names the broken dependency, and the teardown completes after recovery (through
 * POST /retry when it had failed).
 */
describe('dependencies down (e2e, separate process)', () => {
  let sim: DialnexaSimulator;
  let service: ChaosService | null = null;
  let proxy: S3Proxy | null = null;
  const campaign = new Campaign();

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 200, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    await sim.start();
  });

  afterEach(async () => {
    await service?.stop();
    service = null;
    await proxy?.stop();
    proxy = null;
    sim.faults.clear();
  });

  afterAll(async () => {
    console.log(`dependencies down:\n${Campaign.table(campaign.rows)}`);
    await sim?.stop();
  });

  const mutationsOf = (workflowId: string) =>
    sim.requests.filter((r) => r.path.startsWith(`/v1/workflows/${workflowId}`) && r.method !== 'GET');

  /** Waits for the end, retrying (as an operator would) while it failed retryably. */
  async function finish(
    url: string,
    id: string,
    timeoutMs = 90_000,
  ): Promise<{ end: Record<string, any>; retries: number }> {
    const client = api(url);
    let retries = 0;
    for (;;) {
      const end = await client.waitForEnd(id, timeoutMs);
      if (end['status'] !== 'failed' || !end['error']?.retryable || retries >= 3) return { end, retries };
      retries++;
      const answer = await client.retry(id);
      if (answer.status >= 300) return { end, retries };
    }
  }

  it.each(['cut', 'blackhole'] as const)(
    'S3 unreachable mid-upload (%s)',
    async (mode) => {
      const started = Date.now();
      const db = new Db();
      try {
        proxy = await new S3Proxy().start();
        const env = chaosEnv(sim.url, { S3_ENDPOINT: proxy.url });
        service = await new ChaosService(env).start();
        const client = api(service.url);
        const workflowId = sim.addWorkflow({ leads: 300, inTransitLeads: 0 });
        const leadIds = leadIdsOf(sim, workflowId);
        let broken = false;
        const p = proxy;
        p.beforeForward = (call) => {
          if (
            !broken &&
            call.method === 'PUT' &&
            call.key.includes(`${workflowId}/`) &&
            call.key.endsWith('/leads.ndjson.gz') &&
            !call.query.includes('retention')
          ) {
            broken = true;
            if (mode === 'cut') {
              p.cut();
              return 'drop';
            }
            p.blackhole();
            return new Promise<'forward'>(() => undefined); // this request is never answered either
          }
          return 'forward';
        };
        const id = await client.create(workflowId);
        await until('the upload to break', () => broken, 30_000);
        const ready = await client.readyz();
        expect(ready.status).toBe(503);
        expect(ready.body['checks']?.['bucket']?.['ok']).toBe(false);
        expect(ready.body['checks']?.['database']?.['ok']).toBe(true);
        // broken for a while: the teardown waits or fails retryably, and never goes on upstream
        await sleep(6000);
        const during = (await client.get(id)).body;
        expect(['exporting', 'failed']).toContain(during['status']);
        expect(
          during['status'] === 'failed' ? during['error'] : { step: 'export', retryable: true },
        ).toMatchObject({
          step: 'export',
          retryable: true,
        });
        expect(mutationsOf(workflowId)).toEqual([]);
        await expect(db.hasEvent(id, 'archive.exported')).resolves.toBe(false);

        p.beforeForward = null;
        p.restore();
        await until('/readyz to recover', async () => (await client.readyz()).status === 200, 20_000, 200);
        // a request whose answer never comes must not hold the teardown forever once S3 is back
        const { end, retries } = await finish(service.url, id, 30_000);
        const outcome = await checkTeardown({
          id,
          workflowId,
          prefix: env['ARCHIVE_PREFIX']!,
          db,
          sim,
          leadIds,
          expectStatus: 'completed',
        });
        campaign.add(
          `S3 ${mode} mid-upload (status while broken: ${during['status']})`,
          [outcome],
          started,
          [],
          retries,
        );
        expect(end['status']).toBe('completed');
        expect(outcome.violations).toEqual([]);
      } finally {
        await db.close();
      }
    },
    150_000,
  );

  it('PostgreSQL restarted mid-teardown', async () => {
    const started = Date.now();
    const cluster = await new ThrowawayPostgres().init();
    const db = new Db(cluster.url);
    try {
      const env = chaosEnv(sim.url, { DATABASE_URL: cluster.url, MIGRATE_ON_START: 'true' });
      service = await new ChaosService(env).start();
      const client = api(service.url);
      const workflowId = sim.addWorkflow({ leads: 300, inTransitLeads: 0 });
      const leadIds = leadIdsOf(sim, workflowId);
      let downAt = 0;
      let upAt = 0;
      let pages = 0;
      const unhook = sim.onRequest((method, path) => {
        if (!downAt && method === 'GET' && path === `/v1/workflows/${workflowId}/leads` && ++pages === 2) {
          cluster.stop(); // synchronous: the page is answered once PostgreSQL is down
          downAt = Date.now();
        }
      });
      const id = await client.create(workflowId);
      await until('PostgreSQL to go down', () => downAt > 0, 30_000);
      unhook();
      const ready = await client.readyz();
      expect(ready.status).toBe(503);
      expect(ready.body['checks']?.['database']?.['ok']).toBe(false);
      await sleep(5000);
      cluster.start();
      upAt = Date.now();
      const brokenMutations = mutationsOf(workflowId).filter((r) => r.at >= downAt && r.at <= upAt);
      expect(brokenMutations).toEqual([]);
      await until('/readyz to recover', async () => (await client.readyz()).status === 200, 30_000, 200);
      const { end, retries } = await finish(service.url, id);
      const outcome = await checkTeardown({
        id,
        workflowId,
        prefix: env['ARCHIVE_PREFIX']!,
        db,
        sim,
        leadIds,
        expectStatus: 'completed',
      });
      campaign.add('PostgreSQL restarted mid-export', [outcome], started, [], retries);
      expect(end['status']).toBe('completed');
      expect(outcome.violations).toEqual([]);
    } finally {
      await service?.stop();
      service = null;
      await db.close();
      cluster.destroy();
    }
  }, 180_000);
});
