import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CRASH_POINTS, type CrashResult, runCrashPoint } from '../chaos/crash-points.js';
import {
  auditChainOk,
  Campaign,
  ChaosService,
  chaosEnv,
  Db,
  formatTable,
  S3Proxy,
} from '../chaos/harness.js';
import { DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';

/**
 * SIGKILL at every step boundary of a teardown (see test/chaos/crash-points.ts), restart, and
 * check: the teardown completes with one verified archive (one manifest version, every object
 * matching it, exactly the workflow's leads), no cancel or delete before `archive.exported`, one
 * DELETE performed with 200, and an audit trail without gaps or duplicates.
 */
describe('crash at every step boundary (e2e, separate processes)', () => {
  let sim: DialnexaSimulator;
  let proxy: S3Proxy;
  let db: Db;
  let env: Record<string, string>;
  let service: ChaosService;
  const results: CrashResult[] = [];
  const startedAt = Date.now();

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 200, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    await sim.start();
    proxy = await new S3Proxy().start();
    db = new Db();
    await db.reset();
    env = chaosEnv(sim.url, { S3_ENDPOINT: proxy.url });
    service = await new ChaosService(env).start();
  });

  afterAll(async () => {
    await service?.stop();
    const table = formatTable(
      [
        'crash point',
        'state at kill',
        'outcome',
        'manifest',
        'DELETE 200',
        'cancels/deletes sent',
        'recovery s',
        'violations',
      ],
      results.map((r) => [
        r.point,
        r.atKill,
        r.outcome.status,
        r.outcome.archiveVerified ? 'one, verified' : 'NOT VERIFIED',
        String(r.outcome.deletes200),
        `${r.outcome.cancelsSent}/${r.outcome.deletesSent}`,
        String(r.recoverySeconds),
        r.outcome.violations.join('; ') || '-',
      ]),
    );
    console.log(`crash points and outcomes:\n${table}`);
    new Campaign().add(
      'crash at every step boundary',
      results.map((r) => r.outcome),
      startedAt,
    );
    await proxy?.stop();
    await sim?.stop();
    await db?.close();
  });

  it.each(CRASH_POINTS.map((p) => [p.name, p] as const))(
    'killed at: %s',
    async (_name, point) => {
      const run = await runCrashPoint(point, {
        sim,
        proxy,
        db,
        env,
        current: service,
        leads: process.env['CHAOS_LONG'] === '1' ? 650 : 250,
      });
      service = run.service;
      results.push(run.result);
      expect(run.result.outcome.violations).toEqual([]);
      expect(run.result.outcome.status).toBe('completed');
      expect(run.result.outcome.deletesPerformed).toBe(1);
    },
    120_000,
  );

  it('keeps the audit chain intact through every crash', async () => {
    await expect(auditChainOk(service.url)).resolves.toBeNull();
  });
});
