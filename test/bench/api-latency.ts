/**
 * The REST API under load, measured with autocannon against the built service (dist/main.js):
 * 10,000 teardowns on record (inserted as finished rows of the bench's requester, as months of use
 * leave them), an export of a big workflow running in the same process throughout, and, measured
 * in the same run, a bare route (`/healthz`, which touches nothing) as the floor of this HTTP
 * stack on this machine.
 *
 * Each route is driven at a fixed rate (autocannon's `overallRate`) for a fixed time; p50 and p99
 * are autocannon's, in milliseconds.
 */
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { ServiceProcess, sleep } from '../support/test-services.ts';
import { call, round, type TeardownResource } from './export-run.ts';
import type { SimulatorProcess } from './simulator-process.ts';

export interface LatencySettings {
  simulator: SimulatorProcess;
  serviceEnv: Record<string, string>;
  databaseUrl: string;
  requesterKey: string;
  requesterName: string;
  runId: string;
  /** Teardowns on record before the measurement. */
  onRecord: number;
  /** Leads of the workflow whose export runs during the measurement. */
  exportLeads: number;
  durationS: number;
}

export interface LatencyRow {
  route: string;
  rate: number;
  requests: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  /** Whether the export was still running when this route's measurement ended. */
  exportRunning: boolean;
}

export interface LatencyRun {
  onRecord: number;
  exportLeads: number;
  durationS: number;
  rows: LatencyRow[];
}

const FINISHED = new Set(['completed', 'failed', 'rejected', 'aborted']);
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function fakeTeardownId(): string {
  const bytes = randomBytes(26);
  return `td_${[...bytes].map((b) => CROCKFORD[b % 32]).join('')}`;
}

/** Finished teardowns of the bench's requester, as rows (the API only reads them). */
async function recordTeardowns(databaseUrl: string, requester: string, count: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const ids = Array.from({ length: count }, fakeTeardownId);
    for (let from = 0; from < ids.length; from += 1_000) {
      const batch = ids.slice(from, from + 1_000);
      await client.query(
        `INSERT INTO teardown (id, workflow_id, status, step, dry_run, reason, requested_by,
                               leads_exported, leads_total, created_at, updated_at, completed_at)
         SELECT id, 'wfl_bench_' || n, 'completed', 'delete', false, 'bench: a teardown on record', $2,
                100, 100, now() - (n || ' minutes')::interval, now() - (n || ' minutes')::interval,
                now() - (n || ' minutes')::interval
         FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n)`,
        [batch, requester],
      );
    }
    return ids;
  } finally {
    await client.end();
  }
}

export async function measureApiLatency(settings: LatencySettings): Promise<LatencyRun> {
  const ids = await recordTeardowns(settings.databaseUrl, settings.requesterName, settings.onRecord);
  const workflowId = await settings.simulator.addWorkflow({
    nodes: 5,
    edges: 6,
    leads: settings.exportLeads,
  });
  const service = await new ServiceProcess({ ...settings.serviceEnv }, 'service (API latency)').start();
  try {
    const auth = { authorization: `Bearer ${settings.requesterKey}` };
    const exporting = await call(service.url, settings.requesterKey, 'POST', '/v1/teardowns', {
      body: { workflowId, reason: 'bench: an export running during the API measurement', dryRun: true },
      idempotencyKey: `bench-${settings.runId}-latency-export`,
    });
    // the measurement starts once the export is fetching pages
    for (let i = 0; i < 200; i++) {
      const now = await call(service.url, settings.requesterKey, 'GET', `/v1/teardowns/${exporting.id}`);
      if (now.progress.leadsExported > 0) break;
      await sleep(100);
    }
    let postCount = 0;
    const routes: Array<{ route: string; rate: number; options: Partial<autocannon.Options> }> = [
      {
        route: 'bare NestJS route (GET /healthz)',
        rate: 500,
        options: { requests: [{ method: 'GET', path: '/healthz' }] },
      },
      {
        route: 'GET /v1/teardowns/{id}',
        rate: 500,
        options: {
          requests: [
            {
              method: 'GET',
              setupRequest: (request) => ({
                ...request,
                path: `/v1/teardowns/${ids[Math.floor(Math.random() * ids.length)]}`,
              }),
            },
          ],
        },
      },
      {
        route: 'GET /v1/teardowns',
        rate: 500,
        options: { requests: [{ method: 'GET', path: '/v1/teardowns?limit=20' }] },
      },
      {
        route: 'POST /v1/teardowns',
        rate: 100,
        options: {
          requests: [
            {
              method: 'POST',
              // without a path autocannon posts to the URL's, `/`: every POST answered 404
              path: '/v1/teardowns',
              setupRequest: (request) => {
                postCount++;
                return {
                  ...request,
                  headers: {
                    ...request.headers,
                    'content-type': 'application/json',
                    'idempotency-key': `bench-${settings.runId}-post-${postCount}`,
                  },
                  // workflows nobody has: each POST creates a teardown (its run then fails upstream)
                  body: JSON.stringify({
                    workflowId: `wfl_latency_${settings.runId.slice(0, 19).replace(/\W/g, '')}_${postCount}`,
                    reason: 'bench: POST latency',
                    dryRun: true,
                  }),
                };
              },
            },
          ],
        },
      },
    ];
    const rows: LatencyRow[] = [];
    for (const { route, rate, options } of routes) {
      const result = await autocannon({
        url: service.url,
        headers: auth,
        connections: 20,
        overallRate: rate,
        duration: settings.durationS,
        ...options,
      });
      const now: TeardownResource = await call(
        service.url,
        settings.requesterKey,
        'GET',
        `/v1/teardowns/${exporting.id}`,
      );
      rows.push({
        route,
        rate,
        requests: result.requests.total,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        p50Ms: round(result.latency.p50, 1),
        p99Ms: round(result.latency.p99, 1),
        exportRunning: !FINISHED.has(now.status),
      });
      console.log(
        `${route}: ${result.requests.total} requests at ${rate}/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms` +
          `, ${result.non2xx} non-2xx${FINISHED.has(now.status) ? ` (the export had ended: ${now.status})` : ''}` +
          ` (statuses ${JSON.stringify(result.statusCodeStats)})`,
      );
    }
    return {
      onRecord: settings.onRecord,
      exportLeads: settings.exportLeads,
      durationS: settings.durationS,
      rows,
    };
  } catch (error) {
    console.error(`bench: the service's last output:\n${service.output.slice(-3_000)}`);
    throw error;
  } finally {
    await service.stop();
  }
}
