/**
 * Every point where a teardown can stop, as a trigger that SIGKILLs the service exactly there,
 * and `runCrashPoint`, which arms one, lets a teardown run into it, restarts the service and
 * checks the invariants. Internal points are found from outside: the S3 proxy sees the manifest
 * PUT and the verification GETs, the simulator's hooks see every upstream request, and a lock on
 * `audit_event` holds the service right before its next audit commit.
 */
import type { DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';
import {
  api,
  ChaosService,
  checkTeardown,
  type CheckOutcome,
  type Db,
  leadIdsOf,
  type S3Call,
  type S3Proxy,
  until,
} from './harness.ts';

export interface CrashContext {
  sim: DialnexaSimulator;
  proxy: S3Proxy;
  db: Db;
  workflowId: string;
  service: () => ChaosService;
}

interface Armed {
  /** Resolves once the service was killed at the point. */
  killed: Promise<void>;
  disarm: () => Promise<void>;
}

export interface CrashPoint {
  name: string;
  arm: (ctx: CrashContext) => Armed;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const wfPath = (ctx: CrashContext) => `/v1/workflows/${ctx.workflowId}`;

/** Kill in the simulator's hook: the request arrived and will never be performed or answered. */
function onUpstream(
  name: string,
  match: (method: string, path: string, ctx: CrashContext) => boolean,
  nth = 1,
): CrashPoint {
  return {
    name,
    arm(ctx) {
      const done = deferred();
      let seen = 0;
      let fired = false;
      const unhook = ctx.sim.onRequest(async (method, path) => {
        if (fired || !path.startsWith(wfPath(ctx)) || !match(method, path, ctx)) return;
        if (++seen < nth) return;
        fired = true;
        await ctx.service().killNow();
        done.resolve();
      });
      return { killed: done.promise, disarm: async () => void unhook() };
    },
  };
}

/** Kill when the service's S3 request arrives at the proxy (`before`) or once S3 answered it (`after`). */
function onS3(
  name: string,
  when: 'before' | 'after',
  match: (call: S3Call, ctx: CrashContext) => boolean,
): CrashPoint {
  return {
    name,
    arm(ctx) {
      const done = deferred();
      let fired = false;
      const mine = (call: S3Call) => call.key.includes(`${ctx.workflowId}/`) && match(call, ctx);
      if (when === 'before') {
        ctx.proxy.beforeForward = async (call) => {
          if (fired || !mine(call)) return 'forward';
          fired = true;
          await ctx.service().killNow();
          done.resolve();
          return 'drop';
        };
      } else {
        ctx.proxy.beforeRelay = async (call) => {
          if (fired || !mine(call)) return 'relay';
          fired = true;
          await ctx.service().killNow();
          done.resolve();
          return 'drop';
        };
      }
      return {
        killed: done.promise,
        disarm: async () => {
          ctx.proxy.beforeForward = null;
          ctx.proxy.beforeRelay = null;
        },
      };
    },
  };
}

/**
 * Hold the service's next audit commit from the moment `lockWhen` sees an upstream request, wait
 * for `killWhen`, then kill: the request was performed (and maybe answered) but not recorded.
 */
function heldAudit(
  name: string,
  lockOn: { method: string; suffix: string },
  killWhen: (ctx: CrashContext) => boolean | Promise<boolean>,
  setup?: (ctx: CrashContext) => void,
): CrashPoint {
  return {
    name,
    arm(ctx) {
      const done = deferred();
      let release: (() => Promise<void>) | null = null;
      let locking: Promise<void> | null = null;
      setup?.(ctx);
      const unhook = ctx.sim.onRequest(async (method, path) => {
        if (locking || method !== lockOn.method || path !== `${wfPath(ctx)}${lockOn.suffix}`) return;
        locking = ctx.db.lockAudit().then((r) => void (release = r));
        await locking;
      });
      void (async () => {
        await until(
          `${name}: the moment to kill`,
          async () => locking !== null && (await killWhen(ctx)),
          30_000,
          2,
        );
        await ctx.service().killNow();
        done.resolve();
      })();
      return {
        killed: done.promise,
        disarm: async () => {
          unhook();
          await locking;
          await release?.();
        },
      };
    },
  };
}

const answered = (ctx: CrashContext, method: string, suffix: string, status: number, performed = true) =>
  ctx.sim.requests.some(
    (r) =>
      r.method === method &&
      r.path === `${wfPath(ctx)}${suffix}` &&
      r.performed === performed &&
      r.status === status,
  );

const isManifest = (c: S3Call) => /\/td_[^/]+\/manifest\.json$/.test(c.key) && !c.query.includes('retention');

export const CRASH_POINTS: CrashPoint[] = [
  onUpstream('export: GET workflow in flight', (m, p, c) => m === 'GET' && p === wfPath(c)),
  onUpstream('export: GET nodes page in flight', (m, p) => m === 'GET' && p.endsWith('/nodes')),
  onUpstream('export: GET edges page in flight', (m, p) => m === 'GET' && p.endsWith('/edges')),
  onUpstream('export: GET leads page 1 in flight', (m, p) => m === 'GET' && p.endsWith('/leads'), 1),
  onUpstream('export: GET leads page 2 in flight', (m, p) => m === 'GET' && p.endsWith('/leads'), 2),
  onUpstream('export: GET leads page 3 in flight', (m, p) => m === 'GET' && p.endsWith('/leads'), 3),
  onS3(
    'upload: PUT workflow.json in flight',
    'before',
    (c) => c.method === 'PUT' && c.key.endsWith('/workflow.json'),
  ),
  onS3(
    'upload: PUT leads.ndjson.gz in flight',
    'before',
    (c) => c.method === 'PUT' && c.key.endsWith('/leads.ndjson.gz') && !c.query.includes('retention'),
  ),
  onS3(
    'after upload, before manifest (manifest PUT not sent)',
    'before',
    (c) => c.method === 'PUT' && isManifest(c),
  ),
  onS3('manifest stored, its answer lost', 'after', (c) => c.method === 'PUT' && isManifest(c)),
  onS3(
    'after manifest, before verification (first verify GET)',
    'before',
    (c) => c.method === 'GET' && isManifest(c),
  ),
  onS3(
    'during verification (GET leads.ndjson.gz)',
    'before',
    (c) => c.method === 'GET' && c.key.endsWith('/leads.ndjson.gz') && !c.query.includes('retention'),
  ),
  {
    name: 'after verification, before the audit commit',
    arm(ctx) {
      const done = deferred();
      let release: (() => Promise<void>) | null = null;
      let locking: Promise<void> | null = null;
      ctx.proxy.beforeRelay = async (call): Promise<'relay'> => {
        if (
          !locking &&
          call.method === 'PUT' &&
          call.key.includes(`${ctx.workflowId}/`) &&
          isManifest(call)
        ) {
          locking = ctx.db.lockAudit().then((r) => void (release = r));
          await locking;
        }
        return 'relay';
      };
      void (async () => {
        await until(
          'verify committed (step audit)',
          async () =>
            locking !== null &&
            (
              await ctx.db.query('SELECT 1 FROM teardown WHERE workflow_id = $1 AND step = $2', [
                ctx.workflowId,
                'audit',
              ])
            ).length > 0,
          30_000,
          2,
        );
        await ctx.service().killNow();
        done.resolve();
      })();
      return {
        killed: done.promise,
        disarm: async () => {
          ctx.proxy.beforeRelay = null;
          await locking;
          await release?.();
        },
      };
    },
  },
  onUpstream('cancel in flight (sent, not performed)', (m, p) => m === 'POST' && p.endsWith('/cancel')),
  heldAudit(
    'cancel performed, answer lost',
    { method: 'POST', suffix: '/cancel' },
    (ctx) => answered(ctx, 'POST', '/cancel', 0),
    (ctx) => ctx.sim.faults.dropAfterPerformNext(1, { method: 'POST', path: /\/cancel$/ }),
  ),
  heldAudit('cancel answered 200, not yet recorded', { method: 'POST', suffix: '/cancel' }, (ctx) =>
    answered(ctx, 'POST', '/cancel', 200),
  ),
  {
    name: 'after the cancel was recorded (finalize/delete next)',
    arm(ctx) {
      const done = deferred();
      ctx.sim.faults.hang({ method: 'DELETE' });
      void (async () => {
        await until(
          'workflow.cancelled committed',
          async () =>
            (
              await ctx.db.query(
                `SELECT 1 FROM audit_event WHERE workflow_id = $1 AND type = 'workflow.cancelled'`,
                [ctx.workflowId],
              )
            ).length > 0,
          30_000,
          2,
        );
        await ctx.service().killNow();
        done.resolve();
      })();
      return { killed: done.promise, disarm: async () => ctx.sim.faults.clear() };
    },
  },
  onUpstream(
    'finalize: GET leads after the cancel in flight',
    (m, p, ctx) => m === 'GET' && p.endsWith('/leads') && answered(ctx, 'POST', '/cancel', 200),
  ),
  onUpstream('delete in flight (sent, not performed)', (m) => m === 'DELETE'),
  heldAudit(
    'delete performed, answer lost',
    { method: 'DELETE', suffix: '' },
    (ctx) => answered(ctx, 'DELETE', '', 0),
    (ctx) => ctx.sim.faults.dropAfterPerformNext(1, { method: 'DELETE' }),
  ),
  heldAudit('delete answered 200, not yet recorded', { method: 'DELETE', suffix: '' }, (ctx) =>
    answered(ctx, 'DELETE', '', 200),
  ),
];

export interface CrashResult {
  point: string;
  atKill: string;
  outcome: CheckOutcome;
  recoverySeconds: number;
}

/**
 * One crash point: a fresh workflow, a teardown on `current`, the kill at the point, a new
 * service process, and the checks once the teardown ended. Returns the process now running.
 */
export async function runCrashPoint(
  point: CrashPoint,
  opts: {
    sim: DialnexaSimulator;
    proxy: S3Proxy;
    db: Db;
    env: Record<string, string>;
    current: ChaosService;
    leads?: number;
  },
): Promise<{ result: CrashResult; service: ChaosService }> {
  const { sim, proxy, db, env } = opts;
  const workflowId = sim.addWorkflow({ leads: opts.leads ?? 250, nodes: 5, edges: 6, inTransitLeads: 0 });
  const leadIds = leadIdsOf(sim, workflowId);
  let service = opts.current;
  const armed = point.arm({ sim, proxy, db, workflowId, service: () => service });
  let atKill: string;
  let id = '';
  try {
    id = await api(service.url).create(workflowId, `crash point: ${point.name}`);
    await Promise.race([
      armed.killed,
      until(
        `teardown ${id} to be killed at "${point.name}"`,
        async () => {
          const row = await db.row(id);
          return row && ['completed', 'failed'].includes(String(row['status'])) ? 'ended' : false;
        },
        40_000,
        50,
      ).then(() => {
        throw new Error(`the teardown ended without reaching "${point.name}"`);
      }),
    ]);
    const row = await db.row(id);
    const events = await db.events(id);
    atKill = `${row?.['status']}/${row?.['step']} last=${events.at(-1)?.type ?? '-'}`;
  } finally {
    await armed.disarm();
    sim.faults.clear();
  }
  const restarted = Date.now();
  service = await new ChaosService(env, 'restarted').start();
  await api(service.url).waitForEnd(id, 60_000);
  const outcome = await checkTeardown({
    id,
    workflowId,
    prefix: env['ARCHIVE_PREFIX']!,
    db,
    sim,
    leadIds,
    expectStatus: 'completed',
  });
  return {
    result: {
      point: point.name,
      atKill,
      outcome,
      recoverySeconds: Math.round((Date.now() - restarted) / 100) / 10,
    },
    service,
  };
}
