/**
 * Many teardowns at once against a rate-limited DialNexa: `replicas` service processes sharing one
 * database (so one job queue and one shared rate budget) and one API key, `teardowns` workflows of
 * `leadsEach` leads submitted together, spread over the replicas. What it measures comes from the
 * simulator's own record of every request it answered, never from the service's view:
 *
 * - the key's fixed windows as the simulator counted them (a window starts at the first request
 *   after the last one ended), how many requests each let through and refused;
 * - the rate used after the first window: requests let through from the start of the second window
 *   to the start of the last one, over the limit for that time (gaps between windows count as
 *   unused: they are what waiting for a rounded `X-RateLimit-Reset` costs);
 * - the readiness probes that reached DialNexa while teardowns were talking to it (`/readyz` is
 *   polled on every replica throughout).
 */
import pg from 'pg';
import { ServiceProcess, sleep } from '../support/test-services.ts';
import type { RecordedRequest } from '../simulator/dialnexa-simulator.ts';
import { call, round, type TeardownResource } from './export-run.ts';
import { peakRssMb as peakRssMb_ } from './proc-stats.ts';
import type { SimulatorProcess } from './simulator-process.ts';

const POLL_MS = 500;
const TERMINAL = new Set(['completed', 'failed', 'rejected', 'aborted']);
/** The workflow id the service's readiness probe asks for (src/dialnexa/dialnexa.client.ts). */
const READYZ_PROBE_PATH = /\/readyz-probe$/;

export interface FleetSettings {
  name: string;
  simulator: SimulatorProcess;
  serviceEnv: Record<string, string>;
  databaseUrl: string;
  requesterKey: string;
  runId: string;
  replicas: number;
  teardowns: number;
  leadsEach: number;
  dryRun: boolean;
  limit: { count: number; windowMs: number };
  timeoutMs: number;
}

export interface WindowStat {
  /** Seconds from the first request. */
  startS: number;
  ok: number;
  limited: number;
}

export interface FleetRun {
  name: string;
  replicas: number;
  teardowns: number;
  leadsEach: number;
  dryRun: boolean;
  limit: { count: number; windowMs: number };
  seconds: number;
  statuses: Record<string, number>;
  errors: string[];
  requests: {
    total: number;
    ok: number;
    limited: number;
    /** Requests let through per second over the whole run, and the limit's rate. */
    perSecond: number;
    limitPerSecond: number;
    readyzProbes: number;
    /** Readiness probes sent while teardowns' requests were going out. */
    readyzProbesWhileBusy: number;
  };
  windows: WindowStat[];
  /** Share of the limit used from the second window to the start of the last; null under 3 windows. */
  usedAfterFirstWindow: number | null;
  /** The most 429s in one window (each replica may meet one). */
  most429InAWindow: number;
  /** Peak RSS (VmHWM) of each replica, MB. */
  peakRssMb: number[];
  /** The most teardowns one replica ran at once, as its progress showed (polled). */
  mostRunningOnAReplica: number;
  /** The settle waits between cancel and final snapshot, from the leads requests with a status filter. */
  settle: SettleStat;
}

export interface SettleStat {
  /** Rounds of the settle poll, all teardowns together (one `status=pending&limit=1` count each). */
  rounds: number;
  /** Count requests (`limit=1`, read for `meta.total`) per round: one per in-transit status. */
  countRequestsPerRound: number | null;
  /** Full listings of the in-transit leads (the first round's, and when counts are ambiguous). */
  listings: number;
  /** Their pages, all statuses. */
  listingPages: number;
  /** Lead pages listed in full per round, on average: O(1) means this does not grow with the leads in transit. */
  listingPagesPerRound: number | null;
}

/** How the settle poll spent its requests: a leads listing with a status filter is the poll's. */
export function settleStat(requests: readonly RecordedRequest[]): SettleStat {
  const polls = requests.filter(
    (r) =>
      r.method === 'GET' && r.path.endsWith('/leads') && r.query['status'] !== undefined && r.status !== 429,
  );
  const counts = polls.filter((r) => r.query['limit'] === '1');
  const rounds = counts.filter((r) => r.query['status'] === 'pending').length;
  const listingPages = polls.length - counts.length;
  const listings = polls.filter(
    (r) => r.query['limit'] !== '1' && r.query['status'] === 'pending' && (r.query['page'] ?? '1') === '1',
  ).length;
  return {
    rounds,
    countRequestsPerRound: rounds === 0 ? null : round(counts.length / rounds, 2),
    listings,
    listingPages,
    listingPagesPerRound: rounds === 0 ? null : round(listingPages / rounds, 2),
  };
}

export async function runFleet(settings: FleetSettings): Promise<FleetRun> {
  const { simulator } = settings;
  const workflows: string[] = [];
  for (let i = 0; i < settings.teardowns; i++) {
    workflows.push(await simulator.addWorkflow({ nodes: 5, edges: 6, leads: settings.leadsEach }));
  }
  const services: ServiceProcess[] = [];
  for (let i = 0; i < settings.replicas; i++) {
    services.push(new ServiceProcess({ ...settings.serviceEnv }, `${settings.name} replica ${i + 1}`));
  }
  await Promise.all(services.map((service) => service.start()));
  const database = new pg.Client({ connectionString: settings.databaseUrl });
  await database.connect();
  let polling = true;
  const readyzPolls = Promise.all(services.map((service) => pollReadyz(service, () => polling)));
  try {
    await simulator.clearRequests();
    const startedAt = Date.now();
    const created = await Promise.all(
      workflows.map((workflowId, i) =>
        call(services[i % services.length]!.url, settings.requesterKey, 'POST', '/v1/teardowns', {
          body: {
            workflowId,
            reason: `bench: ${settings.name}, ${i + 1} of ${settings.teardowns}`,
            dryRun: settings.dryRun,
          },
          idempotencyKey: `bench-${settings.runId}-${settings.name.replace(/\W+/g, '-')}-${i}`,
        }),
      ),
    );
    const finished = new Map<string, TeardownResource>();
    let mostRunningOnAReplica = 0;
    while (finished.size < created.length) {
      mostRunningOnAReplica = Math.max(mostRunningOnAReplica, await mostLeasedByOneReplica(database));
      if (Date.now() - startedAt > settings.timeoutMs) {
        throw new Error(
          `${settings.name}: ${created.length - finished.size} of ${created.length} teardowns did not end within ${settings.timeoutMs / 1000} s`,
        );
      }
      for (const service of services) {
        if (!service.alive) throw new Error(`${settings.name}: ${service.name} exited`);
      }
      await sleep(POLL_MS);
      for (const [i, teardown] of created.entries()) {
        if (finished.has(teardown.id)) continue;
        const now = await call(
          services[i % services.length]!.url,
          settings.requesterKey,
          'GET',
          `/v1/teardowns/${teardown.id}`,
        );
        if (TERMINAL.has(now.status)) finished.set(now.id, now);
      }
    }
    const seconds = (Date.now() - startedAt) / 1000;
    const peakRssMb = services.map((service) => round(peakRssMb_(service.pid!), 1));
    polling = false;
    await readyzPolls;
    const requests = await simulator.requests();
    const statuses: Record<string, number> = {};
    for (const teardown of finished.values())
      statuses[teardown.status] = (statuses[teardown.status] ?? 0) + 1;
    const errors = [...finished.values()]
      .filter((t) => t.error)
      .map((t) => `${t.id}: ${t.error!.code} at ${t.error!.step}: ${t.error!.message}`);
    return { ...analyse(settings, requests, seconds), statuses, errors, peakRssMb, mostRunningOnAReplica };
  } catch (error) {
    for (const service of services) {
      console.error(`bench: ${service.name}'s last output:\n${service.output.slice(-3_000)}`);
    }
    throw error;
  } finally {
    polling = false;
    await readyzPolls.catch(() => undefined);
    await Promise.all(services.map((service) => service.stop()));
    await database.end();
  }
}

/** The most unfinished teardowns whose lease one process holds now. */
async function mostLeasedByOneReplica(database: pg.Client): Promise<number> {
  const { rows } = await database.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM teardown
     WHERE lease_owner IS NOT NULL AND lease_expires_at > now()
       AND status NOT IN ('completed', 'failed', 'rejected', 'aborted')
     GROUP BY lease_owner ORDER BY n DESC LIMIT 1`,
  );
  return rows[0]?.n ?? 0;
}

function analyse(
  settings: FleetSettings,
  all: readonly RecordedRequest[],
  seconds: number,
): Omit<FleetRun, 'statuses' | 'errors' | 'peakRssMb' | 'mostRunningOnAReplica'> {
  const { count, windowMs } = settings.limit;
  // every request counts against the key's window, the probes' too
  const requests = [...all].filter((r) => r.status !== 0).sort((a, b) => a.at - b.at);
  const first = requests[0]?.at ?? 0;
  const windows: Array<WindowStat & { start: number }> = [];
  for (const request of requests) {
    let window = windows.at(-1);
    if (!window || request.at >= window.start + windowMs) {
      window = { start: request.at, startS: round((request.at - first) / 1000, 2), ok: 0, limited: 0 };
      windows.push(window);
    }
    if (request.status === 429) window.limited++;
    else window.ok++;
  }
  let usedAfterFirstWindow: number | null = null;
  if (windows.length >= 3) {
    const from = windows[1]!.start;
    const to = windows.at(-1)!.start;
    const ok = windows.slice(1, -1).reduce((sum, w) => sum + w.ok, 0);
    usedAfterFirstWindow = round(ok / (((to - from) / windowMs) * count), 3);
  }
  const work = requests.filter((r) => !READYZ_PROBE_PATH.test(r.path));
  const busyFrom = work[0]?.at ?? 0;
  const busyTo = work.at(-1)?.at ?? 0;
  const probes = requests.filter((r) => READYZ_PROBE_PATH.test(r.path));
  const ok = requests.filter((r) => r.status !== 429).length;
  return {
    name: settings.name,
    replicas: settings.replicas,
    teardowns: settings.teardowns,
    leadsEach: settings.leadsEach,
    dryRun: settings.dryRun,
    limit: settings.limit,
    seconds: round(seconds, 1),
    requests: {
      total: requests.length,
      ok,
      limited: requests.length - ok,
      perSecond: round(ok / seconds, 1),
      limitPerSecond: round(count / (windowMs / 1000), 1),
      readyzProbes: probes.length,
      readyzProbesWhileBusy: probes.filter((r) => r.at > busyFrom && r.at < busyTo).length,
    },
    windows: windows.map(({ startS, ok: passed, limited }) => ({ startS, ok: passed, limited })),
    usedAfterFirstWindow,
    most429InAWindow: Math.max(0, ...windows.map((w) => w.limited)),
    settle: settleStat(requests),
  };
}

async function pollReadyz(service: ServiceProcess, going: () => boolean): Promise<void> {
  while (going()) {
    try {
      const response = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
    } catch {
      // a probe that fails is the readiness check's business; the bench only counts what it sends
    }
    await sleep(1_000);
  }
}
