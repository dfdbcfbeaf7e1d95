/**
 * One measured export: a fresh service process (dist/main.js, its own process, so its peak RSS is
 * this export's), one dry-run teardown of a workflow of N leads, and what it cost: wall seconds
 * per step, peak RSS, CPU seconds, upstream requests.
 *
 * Step times come from the runner's own step transitions: TeardownRunner logs
 * `teardown <id>: step <step> (attempt <n>)` when a step begins, with a millisecond timestamp, so
 * export = verify's start − export's start and verify = audit's start − verify's start. When those
 * lines are missing (their wording changed), the times fall back to the `progress.step`
 * transitions seen by polling the teardown resource, to within the polling interval.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, sleep } from '../support/test-services.ts';
import type { RecordedRequest } from '../simulator/dialnexa-simulator.ts';
import {
  type HeapUsage,
  InspectorSession,
  type MemoryUsage,
  type ProfileSummary,
  summarizeProfile,
} from './inspector.ts';
import { cpuSeconds, machineBusySeconds, peakRssMb, rssMb } from './proc-stats.ts';
import type { SimulatorProcess } from './simulator-process.ts';

export const LEADS_PER_PAGE = 100;
const POLL_MS = 250;
export const TERMINAL = new Set(['completed', 'failed', 'rejected', 'aborted']);
export const STEP_LINE = /^teardown (\S+): step (\w+) \(attempt (\d+)\)$/;

export interface ExportRunSettings {
  simulator: SimulatorProcess;
  serviceEnv: Record<string, string>;
  requesterKey: string;
  runId: string;
  timeoutMs: number;
  /** Attach over the inspector: a CPU profile of the teardown, the heap live and garbage. */
  profile: boolean;
}

export interface TeardownResource {
  id: string;
  status: string;
  progress: { step: string; leadsExported: number; leadsTotal: number | null };
  archive: {
    bucket: string;
    manifestKey: string;
    manifestVersionId: string | null;
    counts: { nodes: number; edges: number; leads: number };
    verifiedAt: string | null;
  } | null;
  error: { code: string; message: string; step: string } | null;
}

export interface ExportRun {
  leads: number;
  pages: number;
  workflowId: string;
  teardown: TeardownResource;
  requests: {
    /** ⌈N/100⌉ lead pages + the workflow + one page of nodes + one of edges. */
    expected: number;
    actual: number;
    rateLimited: number;
    leadPages: number;
    /** Most lead-page requests the simulator had open at once: the service's page concurrency. */
    pageConcurrency: number;
  };
  seconds: {
    /** POST to the export's start (the job queue picking the teardown up). */
    queue: number | null;
    export: number | null;
    verify: number | null;
    /** POST to the teardown's terminal status, as polled. */
    teardown: number;
  };
  timingSource: 'runner step log' | 'polled progress.step';
  /** Attempts of each step, from the runner's log: more than 1 means a step was retried. */
  attempts: Record<string, number>;
  rss: { afterStartMb: number; peakMb: number; samples: Array<[number, number, number]> };
  cpu: {
    serviceS: number;
    simulatorS: number | null;
    /** The bench process itself (polling; the floor runs after the teardown). */
    benchS: number;
    /**
     * CPU the rest of the machine used during the teardown: PostgreSQL and the S3 store, which
     * serve the service, and any other work on a shared machine (an `npm test`, another
     * engineer's runs), which competes for the same cores and slows the figures.
     */
    otherS: number | null;
  };
  /** With --profile only. */
  profile?: {
    cpu: ProfileSummary;
    heapAtStart: { before: HeapUsage; afterGc: HeapUsage };
    heapAtEnd: { before: HeapUsage; afterGc: HeapUsage };
    /** Once half the leads were exported: what the export keeps alive while it runs. */
    heapMidExport: { before: HeapUsage; afterGc: HeapUsage } | null;
    /** process.memoryUsage() at the sample with the highest RSS. */
    atRssPeak: MemoryUsage | null;
  };
}

/** Runs one dry-run teardown of a fresh workflow of `leads` leads against a fresh service process. */
export async function runExport(settings: ExportRunSettings, leads: number): Promise<ExportRun> {
  const { simulator } = settings;
  const workflowId = await simulator.addWorkflow({ nodes: 5, edges: 6, leads });
  const env = { ...settings.serviceEnv };
  if (settings.profile) env['NODE_OPTIONS'] = `${env['NODE_OPTIONS'] ?? ''} --inspect=127.0.0.1:0`.trim();
  const service = new ServiceProcess(env, `service (${leads} leads)`);
  const stepStarts = new Map<string, number>();
  const attempts: Record<string, number> = {};
  let pending = '';
  service.onOutput = (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"TeardownRunner"')) continue;
      const entry = parseLogLine(line);
      const match = entry ? STEP_LINE.exec(entry.msg) : null;
      if (!entry || !match) continue;
      const step = match[2]!;
      attempts[step] = Math.max(attempts[step] ?? 0, Number(match[3]));
      if (!stepStarts.has(step)) stepStarts.set(step, entry.time);
    }
  };
  await service.start();
  let inspector: InspectorSession | undefined;
  try {
    const pid = service.pid!;
    const rssAfterStart = rssMb(pid);
    inspector = settings.profile ? await InspectorSession.attach(service.output) : undefined;
    const heapAtStart = await inspector?.heap();
    await simulator.clearRequests();
    const simulatorPid = simulator.pid;
    const simulatorCpuBefore = simulatorPid === undefined ? null : cpuSeconds(simulatorPid);
    await inspector?.startProfiling();
    const cpuBefore = cpuSeconds(pid);
    const benchCpuBefore = process.cpuUsage();
    const busyBefore = machineBusySeconds();
    const postedAt = Date.now();
    const created = await call(service.url, settings.requesterKey, 'POST', '/v1/teardowns', {
      body: { workflowId, reason: `bench: dry-run export of ${leads} leads`, dryRun: true },
      idempotencyKey: `bench-${settings.runId}-${leads}`,
    });
    const polledSteps = new Map<string, number>();
    const samples: Array<[number, number, number]> = [];
    let atRssPeak: MemoryUsage | null = null;
    let heapMidExport: { before: HeapUsage; afterGc: HeapUsage } | null = null;
    let teardown = created;
    for (;;) {
      if (!polledSteps.has(teardown.progress.step)) polledSteps.set(teardown.progress.step, Date.now());
      samples.push([
        round((Date.now() - postedAt) / 1000, 2),
        round(rssMb(pid), 1),
        teardown.progress.leadsExported,
      ]);
      const usage = await inspector?.memoryUsage();
      if (usage && (!atRssPeak || usage.rssMb > atRssPeak.rssMb)) atRssPeak = usage;
      if (inspector && !heapMidExport && teardown.progress.leadsExported >= leads / 2)
        heapMidExport = await inspector.heap();
      if (TERMINAL.has(teardown.status)) break;
      if (Date.now() - postedAt > settings.timeoutMs) {
        throw new Error(
          `the teardown of ${leads} leads did not end within ${settings.timeoutMs / 1000} s (${teardown.status}, step ${teardown.progress.step}, ${teardown.progress.leadsExported} leads exported)`,
        );
      }
      await sleep(POLL_MS);
      if (!service.alive) {
        throw new Error(
          `the service exited during the teardown of ${leads} leads (${teardown.status}, step ${teardown.progress.step})`,
        );
      }
      teardown = await call(service.url, settings.requesterKey, 'GET', `/v1/teardowns/${created.id}`);
    }
    const endedAt = Date.now();
    const cpuAfter = cpuSeconds(pid);
    const busyAfter = machineBusySeconds();
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const simulatorCpuAfter = simulatorPid === undefined ? null : cpuSeconds(simulatorPid);
    const peak = peakRssMb(pid);
    const requests = await simulator.requests();
    const cpuProfile = await inspector?.stopProfiling();
    if (cpuProfile) {
      // the whole profile, for Chrome DevTools or `speedscope`: too big for bench/results/
      const file = join(tmpdir(), `dialnexa-teardown-bench-${settings.runId}-${leads}.cpuprofile`);
      writeFileSync(file, JSON.stringify(cpuProfile));
      console.log(`bench: CPU profile of the service written to ${file}`);
    }
    const heapAtEnd = await inspector?.heap();

    const logged = ['export', 'verify', 'audit'].every((step) => stepStarts.has(step));
    const starts = logged ? stepStarts : polledSteps;
    const between = (from: string, to: string): number | null => {
      const a = starts.get(from);
      const b = starts.get(to);
      return a === undefined || b === undefined ? null : (b - a) / 1000;
    };
    const exportStart = starts.get('export');
    const pages = Math.ceil(leads / LEADS_PER_PAGE);
    const leadPages = requests.filter((r) => /\/leads$/.test(r.path) && r.method === 'GET');
    return {
      leads,
      pages,
      workflowId,
      teardown,
      requests: {
        expected: pages + 3,
        actual: requests.length,
        rateLimited: requests.filter((r) => r.status === 429).length,
        leadPages: leadPages.length,
        pageConcurrency: Math.max(maxOverlap(leadPages), connectionsAtOnce(leadPages)),
      },
      seconds: {
        queue: exportStart === undefined ? null : (exportStart - postedAt) / 1000,
        export: between('export', 'verify'),
        verify: between('verify', 'audit'),
        teardown: (endedAt - postedAt) / 1000,
      },
      timingSource: logged ? 'runner step log' : 'polled progress.step',
      attempts,
      rss: { afterStartMb: round(rssAfterStart, 1), peakMb: round(peak, 1), samples },
      cpu: cpuSplit({
        serviceS: cpuAfter - cpuBefore,
        simulatorS:
          simulatorCpuBefore === null || simulatorCpuAfter === null
            ? null
            : simulatorCpuAfter - simulatorCpuBefore,
        benchS: (benchCpu.user + benchCpu.system) / 1e6,
        machineS: busyAfter - busyBefore,
      }),
      profile:
        cpuProfile && heapAtStart && heapAtEnd
          ? { cpu: summarizeProfile(cpuProfile), heapAtStart, heapMidExport, heapAtEnd, atRssPeak }
          : undefined,
    };
  } catch (error) {
    console.error(`bench: the service's last output:\n${service.output.slice(-5_000)}`);
    throw error;
  } finally {
    inspector?.close();
    await service.stop();
  }
}

function cpuSplit(cpu: {
  serviceS: number;
  simulatorS: number | null;
  benchS: number;
  machineS: number;
}): ExportRun['cpu'] {
  const other = cpu.simulatorS === null ? null : cpu.machineS - cpu.serviceS - cpu.simulatorS - cpu.benchS;
  return {
    serviceS: round(cpu.serviceS, 2),
    simulatorS: cpu.simulatorS === null ? null : round(cpu.simulatorS, 2),
    benchS: round(cpu.benchS, 2),
    otherS: other === null ? null : round(Math.max(0, other), 2),
  };
}

/** The most requests open at the same moment: each is open from its arrival until its answer. */
/**
 * The most client connections among any `span` consecutive requests: the simulator answers one
 * request at a time (so `maxOverlap` of its own timestamps is 1), while undici's pool opens a
 * connection only when every open one is busy, so the connections in use show the requests the
 * service had in flight. A window, not the whole run: a connection closed idle and opened again
 * later is not counted twice.
 */
export function connectionsAtOnce(
  requests: readonly Pick<RecordedRequest, 'seq' | 'connection'>[],
  span = 20,
): number {
  const sorted = [...requests].sort((a, b) => a.seq - b.seq);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    const seen = new Set(sorted.slice(i, i + span).map((r) => r.connection));
    most = Math.max(most, seen.size);
  }
  return most;
}

export function maxOverlap(requests: readonly Pick<RecordedRequest, 'at' | 'doneAt'>[]): number {
  const sorted = [...requests].sort((a, b) => a.at - b.at);
  const longest = Math.max(0, ...sorted.map((r) => r.doneAt - r.at));
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    const now = sorted[i]!.at;
    let open = 1;
    for (let j = i - 1; j >= 0 && now - sorted[j]!.at <= longest; j--) {
      if (sorted[j]!.doneAt > now) open++;
    }
    most = Math.max(most, open);
  }
  return most;
}

export function parseLogLine(line: string): { time: number; msg: string } | null {
  try {
    const entry = JSON.parse(line) as { time?: unknown; msg?: unknown };
    if (typeof entry.time !== 'string' || typeof entry.msg !== 'string') return null;
    return { time: Date.parse(entry.time), msg: entry.msg };
  } catch {
    return null; // not one of the service's JSON lines (a stack trace, say): not a step start
  }
}

/** One call of the service's REST API, with the bench's key; a non-2xx answer throws. */
export async function call(
  baseUrl: string,
  key: string,
  method: string,
  path: string,
  options: { body?: unknown; idempotencyKey?: string } = {},
): Promise<TeardownResource> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as TeardownResource;
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
