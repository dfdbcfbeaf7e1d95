/**
 * What the bench prints and judges: the export table, the floor behind its ratio, the tables of
 * issue 9 that are not measured yet (printed as such, so that nobody mistakes them for passing),
 * and PASS / FAIL / NOT MEASURED per target.
 */
import type { ArchiveCheck } from './archive-check.ts';
import type { ExportRun } from './export-run.ts';
import type { FleetRun } from './fleet-run.ts';
import type { LatencyRun } from './api-latency.ts';

/** quick: 10k and 100k leads; full: also 1M; custom: the sizes given with --sizes. */
export type BenchMode = 'quick' | 'full' | 'custom';

export const TARGETS = {
  peakRssMb: 250,
  rssGrowth1MOver100k: 1.15,
  ratio: 1.3,
  /** A dry run sends ⌈N/100⌉ lead pages plus the workflow, its nodes and its edges. */
  requestAllowance: 5,
  /** Share of the shared rate two replicas use after the first window. */
  rateUsed: 0.95,
  getP99Ms: 15,
  /** Peak RSS of a replica running RUNNER_CONCURRENCY (4) teardowns at once: the stated budget. */
  concurrentRssMb: 300,
  /** A full teardown: export and final snapshot pages, plus workflow/nodes/edges twice, cancel, settle rounds, DELETE. */
  fullTeardownAllowance: 20,
  postP99Ms: 80,
} as const;

export interface FloorResult {
  settings: { gzipLevel: number; partSizeBytes: number; partsInFlight: number };
  /** Seconds to fetch every lead page bare, by requests in flight. */
  fetch: Record<string, { seconds: number; bytes: number }>;
  /** The service's page concurrency, as measured, whose fetch floor the ratio uses. */
  serviceConcurrency: number;
  gzip: { seconds: number; bytes: number };
  /** gzip alone at other levels (1, 3, 6), to choose the service's level with the figures in hand. */
  gzipLevels?: Record<string, { seconds: number; bytes: number }>;
  gzipUpload: { seconds: number; bytes: number; parts: number };
  /** max(fetch at the service's concurrency, gzip + upload). */
  seconds: number;
}

export interface SizeResult {
  leads: number;
  run: ExportRun;
  archive: Omit<ArchiveCheck, 'ndjson'>;
  floor: FloorResult;
  /** (export + verify) / floor. */
  ratio: number | null;
  /** An `npm test` held its lock during this size: the figures are distorted. */
  testRunDuring: boolean;
  loadAverageBefore: number[];
}

export type TargetStatus = 'PASS' | 'FAIL' | 'NOT MEASURED';

export interface Target {
  name: string;
  status: TargetStatus;
  detail: string;
}

export interface PendingTable {
  title: string;
  head: string[];
  rows: string[][];
}

const NOT_MEASURED = 'not measured yet';

/** The rate-budget scenarios (test/bench/fleet-run.ts): rows as measured, or "not measured". */
export function rateBudgetTable(fleets: readonly FleetRun[]): PendingTable {
  const head = [
    'scenario',
    'limit',
    'time s',
    'statuses',
    'requests (429s)',
    'req/s vs limit',
    'used after 1st window',
    'most 429s in a window',
    'readyz probes while busy',
    'peak RSS MB (most at once)',
  ];
  const rows = fleets.map((f) => [
    `${f.replicas} replicas, ${f.teardowns} x ${label(f.leadsEach)} leads${f.dryRun ? ' (dry run)' : ''}`,
    `${f.limit.count} / ${f.limit.windowMs / 1000} s`,
    fmt(f.seconds),
    Object.entries(f.statuses)
      .map(([status, n]) => `${n} ${status}`)
      .join(', '),
    `${f.requests.total} (${f.requests.limited})`,
    `${f.requests.perSecond} / ${f.requests.limitPerSecond}`,
    f.usedAfterFirstWindow === null ? '- (< 3 windows)' : `${(f.usedAfterFirstWindow * 100).toFixed(1)} %`,
    String(f.most429InAWindow),
    `${f.requests.readyzProbesWhileBusy} of ${f.requests.readyzProbes}`,
    `${f.peakRssMb.map((mb) => mb.toFixed(0)).join(', ')} (${f.mostRunningOnAReplica})`,
  ]);
  if (rows.length === 0) rows.push(['(not run)', ...head.slice(1).map(() => NOT_MEASURED)]);
  return { title: 'rate budget and many teardowns at once (a rate-limited simulator)', head, rows };
}

/** The targets the fleet scenarios decide. */
export function fleetTargets(rate: FleetRun | undefined, many: FleetRun | undefined): Target[] {
  const targets: Target[] = [];
  const notRun = (name: string): Target => ({ name, status: 'NOT MEASURED', detail: 'scenario did not run' });
  const rateName = `${rate?.replicas ?? 2} replicas use >= ${TARGETS.rateUsed * 100}% of the shared rate after the first window`;
  if (!rate) {
    targets.push(notRun(rateName));
  } else {
    targets.push({
      name: rateName,
      status:
        rate.usedAfterFirstWindow !== null && rate.usedAfterFirstWindow >= TARGETS.rateUsed ? 'PASS' : 'FAIL',
      detail:
        rate.usedAfterFirstWindow === null
          ? `only ${rate.windows.length} windows`
          : `${(rate.usedAfterFirstWindow * 100).toFixed(1)} % over ${rate.windows.length - 2} windows`,
    });
  }
  for (const run of [rate, many]) {
    if (!run) continue;
    targets.push({
      name: `at most one 429 per replica per window (${run.name})`,
      status: run.most429InAWindow <= run.replicas ? 'PASS' : 'FAIL',
      detail: `at most ${run.most429InAWindow} in a window; ${run.requests.limited} in ${run.windows.length} windows`,
    });
    const completed = run.statuses['completed'] ?? 0;
    targets.push({
      name: `every teardown completes (${run.name})`,
      status: completed === run.teardowns ? 'PASS' : 'FAIL',
      detail:
        `${completed} of ${run.teardowns} in ${fmt(run.seconds)} s, ${run.requests.perSecond} req/s of ${run.requests.limitPerSecond}` +
        (run.errors.length > 0 ? `; ${run.errors.slice(0, 3).join('; ')}` : ''),
    });
  }
  if (!rate) {
    targets.push(notRun('health probes spend no budget while a recent upstream answer exists'));
  } else {
    targets.push({
      name: 'health probes spend no budget while a recent upstream answer exists',
      status: rate.requests.readyzProbesWhileBusy === 0 ? 'PASS' : 'FAIL',
      detail: `${rate.requests.readyzProbesWhileBusy} probes reached DialNexa during the teardowns (${rate.requests.readyzProbes} in all, /readyz polled every second on each replica)`,
    });
  }
  if (!many) targets.push(notRun('50 teardowns of 2,000 leads at once complete'));
  const busiest = [rate, many].filter((f) => f !== undefined);
  if (busiest.length === 0) {
    targets.push(notRun(`peak RSS < ${TARGETS.concurrentRssMb} MB with RUNNER_CONCURRENCY exports at once`));
  } else {
    const peak = Math.max(...busiest.flatMap((f) => f.peakRssMb));
    const most = Math.max(...busiest.map((f) => f.mostRunningOnAReplica));
    targets.push({
      name: `peak RSS < ${TARGETS.concurrentRssMb} MB with RUNNER_CONCURRENCY exports at once`,
      status: peak < TARGETS.concurrentRssMb ? 'PASS' : 'FAIL',
      detail: `${peak.toFixed(0)} MB, up to ${most} teardowns running on one replica`,
    });
  }
  if (many && !many.dryRun) {
    const perTeardown =
      (many.requests.total - many.requests.readyzProbes - many.requests.limited) / many.teardowns;
    const bound = 2 * Math.ceil(many.leadsEach / 100) + TARGETS.fullTeardownAllowance;
    targets.push({
      name: `a full teardown sends about 2*ceil(N/100) + a constant requests (${label(many.leadsEach)} leads)`,
      status: perTeardown <= bound ? 'PASS' : 'FAIL',
      detail: `${perTeardown.toFixed(1)} a teardown on average (bound ${bound}), 429s and readiness probes not counted`,
    });
  }
  targets.push(settleTarget(many));
  return targets;
}

/**
 * The settle poll (SettleWaiter) costs one count request per in-transit status each round
 * (3: pending, in_progress, active), and lists the leads in full only at its first round or when
 * the counts are ambiguous: judged on the full teardowns of the "50 at once" scenario.
 */
function settleTarget(many: FleetRun | undefined): Target {
  const name = 'the settle poll costs O(1) requests per round (full teardowns)';
  if (!many || many.dryRun || many.settle.rounds === 0) {
    return { name, status: 'NOT MEASURED', detail: 'no full teardown waited for leads to settle' };
  }
  const { rounds, countRequestsPerRound, listings, listingPages } = many.settle;
  const listingsEach = listings / many.teardowns;
  return {
    name,
    status:
      countRequestsPerRound !== null && countRequestsPerRound <= 3 && listingsEach <= 2 ? 'PASS' : 'FAIL',
    detail:
      `${rounds} rounds over ${many.teardowns} teardowns, ${countRequestsPerRound} count requests a round; ` +
      `${listings} full listings (${listingsEach.toFixed(2)} a teardown, bound 2) of ${listingPages} pages in all`,
  };
}

/** The API latency table (test/bench/api-latency.ts), or "not measured". */
export function apiLatencyTable(run: LatencyRun | undefined): PendingTable {
  const title = run
    ? `API latency (${run.onRecord.toLocaleString('en')} teardowns on record, an export of ${label(run.exportLeads)} leads running, ${run.durationS} s per route)`
    : 'API latency';
  const head = ['route', 'load', 'requests', 'non-2xx', 'p50 ms', 'p99 ms', 'target', 'export running'];
  if (!run) return { title, head, rows: [['(not run)', ...head.slice(1).map(() => NOT_MEASURED)]] };
  return {
    title,
    head,
    rows: run.rows.map((row) => [
      row.route,
      `${row.rate} req/s`,
      String(row.requests),
      String(row.non2xx + row.errors),
      row.p50Ms.toFixed(1),
      row.p99Ms.toFixed(1),
      latencyTarget(row.route) === null ? '-' : `p99 < ${latencyTarget(row.route)} ms`,
      row.exportRunning ? 'yes' : 'no',
    ]),
  };
}

function latencyTarget(route: string): number | null {
  if (route.startsWith('GET /v1/')) return TARGETS.getP99Ms;
  if (route.startsWith('POST /v1/')) return TARGETS.postP99Ms;
  return null;
}

export function latencyTargets(run: LatencyRun | undefined): Target[] {
  if (!run) {
    return [
      {
        name: `API latency: GET p99 < ${TARGETS.getP99Ms} ms at 500 req/s, POST p99 < ${TARGETS.postP99Ms} ms at 100 req/s`,
        status: 'NOT MEASURED',
        detail: 'the measurement did not run',
      },
    ];
  }
  return run.rows.flatMap((row) => {
    const bound = latencyTarget(row.route);
    if (bound === null) return [];
    const failures = row.non2xx + row.errors;
    return [
      {
        name: `${row.route}: p99 < ${bound} ms at ${row.rate} req/s, an export running`,
        status: row.p99Ms < bound && failures === 0 && row.exportRunning ? 'PASS' : 'FAIL',
        detail:
          `p99 ${row.p99Ms} ms, p50 ${row.p50Ms} ms over ${row.requests} requests` +
          (failures > 0 ? `, ${failures} not 2xx` : '') +
          (row.exportRunning ? '' : ', the export had ended before the measurement did'),
      },
    ];
  });
}

export function evaluateTargets(mode: BenchMode, sizes: readonly SizeResult[]): Target[] {
  const targets: Target[] = [];
  for (const size of sizes) {
    targets.push({
      name: `archive complete and verified (${label(size.leads)})`,
      status: size.archive.ok ? 'PASS' : 'FAIL',
      detail: size.archive.ok
        ? `counts.leads ${size.archive.countsLeads}, ${size.archive.lines} lines, ${size.archive.distinctIds} distinct ids, verifiedAt ${size.archive.verifiedAt}`
        : size.archive.problems.join('; '),
    });
  }
  for (const size of sizes) {
    targets.push({
      name: `peak RSS < ${TARGETS.peakRssMb} MB (${label(size.leads)})`,
      status: size.run.rss.peakMb < TARGETS.peakRssMb ? 'PASS' : 'FAIL',
      detail: `${size.run.rss.peakMb.toFixed(0)} MB`,
    });
  }
  const at100k = sizes.find((s) => s.leads === 100_000);
  const at1M = sizes.find((s) => s.leads === 1_000_000);
  if (at100k && at1M) {
    const growth = at1M.run.rss.peakMb / at100k.run.rss.peakMb;
    targets.push({
      name: `RSS(1M) <= ${TARGETS.rssGrowth1MOver100k} x RSS(100k)`,
      status: growth <= TARGETS.rssGrowth1MOver100k ? 'PASS' : 'FAIL',
      detail: `${growth.toFixed(2)} x (${at1M.run.rss.peakMb.toFixed(0)} / ${at100k.run.rss.peakMb.toFixed(0)} MB)`,
    });
  } else {
    targets.push({
      name: `RSS(1M) <= ${TARGETS.rssGrowth1MOver100k} x RSS(100k)`,
      status: 'NOT MEASURED',
      detail: mode === 'quick' ? 'full mode only (npm run bench)' : 'needs the 100k and 1M sizes',
    });
  }
  for (const size of sizes) {
    targets.push({
      name: `(export + verify) <= ${TARGETS.ratio} x floor (${label(size.leads)})`,
      status: size.ratio === null ? 'FAIL' : size.ratio <= TARGETS.ratio ? 'PASS' : 'FAIL',
      detail:
        size.ratio === null
          ? 'no step times'
          : `${size.ratio.toFixed(2)} x (${fmt(exportPlusVerify(size.run))} s / ${fmt(size.floor.seconds)} s)`,
    });
  }
  for (const size of sizes) {
    const { actual, rateLimited } = size.run.requests;
    const bound = size.run.pages + TARGETS.requestAllowance;
    targets.push({
      name: `dry run sends <= ceil(N/100) + ${TARGETS.requestAllowance} requests (${label(size.leads)})`,
      status: actual <= bound ? 'PASS' : 'FAIL',
      detail: `${actual} (bound ${bound}; ${rateLimited} answered 429)`,
    });
  }
  return targets;
}

export function exportPlusVerify(run: ExportRun): number | null {
  const { export: exportS, verify } = run.seconds;
  return exportS === null || verify === null ? null : exportS + verify;
}

export function printReport(
  mode: BenchMode,
  sizes: readonly SizeResult[],
  targets: readonly Target[],
  pending: readonly PendingTable[],
): void {
  console.log(`\n=== export (dry run: export + verify + audit; ${mode}) ===`);
  printTable(
    [
      'size',
      'pages',
      'requests exp/act',
      '429s',
      'page conc.',
      'export s',
      'verify s',
      'final s',
      'floor s',
      'ratio',
      'peak RSS MB',
      'CPU s',
    ],
    sizes.map((s) => [
      label(s.leads),
      String(s.run.pages),
      `${s.run.requests.expected}/${s.run.requests.actual}`,
      String(s.run.requests.rateLimited),
      String(s.run.requests.pageConcurrency),
      fmt(s.run.seconds.export),
      fmt(s.run.seconds.verify),
      '-',
      fmt(s.floor.seconds),
      s.ratio === null ? '-' : s.ratio.toFixed(2),
      s.run.rss.peakMb.toFixed(0),
      fmt(s.run.cpu.serviceS),
    ]),
  );
  const sources = [...new Set(sizes.map((s) => s.run.timingSource))].join(', ');
  console.log(
    `step times from: ${sources}. final s: not measured yet (a dry run stops before the cancel). ` +
      `floor = max(fetch at the service's page concurrency, gzip + upload); ratio = (export + verify) / floor.`,
  );

  const floor = sizes[0]?.floor.settings;
  console.log(
    `\n=== floor (bare undici fetch; gzip level ${floor?.gzipLevel ?? '-'}, ${(floor?.partSizeBytes ?? 0) / 2 ** 20} MiB parts, ${floor?.partsInFlight ?? '-'} in flight) ===`,
  );
  const concurrencies = [...new Set(sizes.flatMap((s) => Object.keys(s.floor.fetch)))].sort(
    (a, b) => Number(a) - Number(b),
  );
  printTable(
    [
      'size',
      'NDJSON MB',
      'gzip MB',
      ...concurrencies.map((c) => `fetch x${c} s`),
      'gzip alone s',
      'gzip+upload s',
      'floor s',
    ],
    sizes.map((s) => [
      label(s.leads),
      (s.archive.ndjsonBytes / 1e6).toFixed(1),
      (s.archive.gzipBytes / 1e6).toFixed(1),
      ...concurrencies.map((c) => fmt(s.floor.fetch[c]?.seconds ?? null)),
      fmt(s.floor.gzip.seconds),
      fmt(s.floor.gzipUpload.seconds),
      fmt(s.floor.seconds),
    ]),
  );

  console.log('\n=== where the time goes (per size) ===');
  printTable(
    [
      'size',
      'teardown s',
      'queue s',
      'service CPU s',
      'simulator CPU s',
      'rest of machine CPU s',
      'RSS at start MB',
      'peak RSS MB',
      'gzip MB (archive/floor)',
    ],
    sizes.map((s) => [
      label(s.leads),
      fmt(s.run.seconds.teardown),
      fmt(s.run.seconds.queue),
      fmt(s.run.cpu.serviceS),
      fmt(s.run.cpu.simulatorS),
      fmt(s.run.cpu.otherS),
      s.run.rss.afterStartMb.toFixed(0),
      s.run.rss.peakMb.toFixed(0),
      `${(s.archive.gzipBytes / 1e6).toFixed(1)}/${(s.floor.gzipUpload.bytes / 1e6).toFixed(1)}`,
    ]),
  );
  for (const s of sizes) {
    if (s.testRunDuring)
      console.log(`  ! ${label(s.leads)}: an npm test ran during this size: its figures are distorted`);
    const retried = Object.entries(s.run.attempts).filter(([, n]) => n > 1);
    if (retried.length > 0)
      console.log(
        `  ! ${label(s.leads)}: steps retried: ${retried.map(([step, n]) => `${step} x${n}`).join(', ')}`,
      );
  }

  for (const s of sizes) {
    const profile = s.run.profile;
    if (!profile) continue;
    const { heapAtStart, heapAtEnd, cpu } = profile;
    console.log(
      `\n=== profile, ${label(s.leads)} (--profile: inspector attached; figures above are slowed) ===\n` +
        `V8 heap used: at start ${heapAtStart.afterGc.usedMb} MB live; ` +
        (profile.heapMidExport
          ? `half-way through the export ${profile.heapMidExport.before.usedMb} MB, ${profile.heapMidExport.afterGc.usedMb} MB live; `
          : '') +
        `at the end ${heapAtEnd.before.usedMb} MB, ` +
        `${heapAtEnd.afterGc.usedMb} MB live after a full GC (RSS at start ${s.run.rss.afterStartMb.toFixed(0)} MB, ` +
        `peak ${s.run.rss.peakMb.toFixed(0)} MB)` +
        (profile.atRssPeak
          ? `\nat the highest RSS sampled (${profile.atRssPeak.rssMb} MB): V8 heap used ${profile.atRssPeak.heapUsedMb} MB, ` +
            `external ${profile.atRssPeak.externalMb} MB (of which ArrayBuffers ${profile.atRssPeak.arrayBuffersMb} MB)`
          : ''),
    );
    const share = (seconds: number) => `${((100 * seconds) / cpu.sampledS).toFixed(1)}%`;
    printTable(
      ['self time by area', 's', 'share'],
      cpu.byArea.map((a) => [a.area, a.seconds.toFixed(2), share(a.seconds)]),
    );
    printTable(
      ['self time by function', 's', 'share'],
      cpu.byFunction.map((f) => [f.fn, f.seconds.toFixed(2), share(f.seconds)]),
    );
  }

  for (const table of pending) {
    console.log(`\n=== ${table.title} ===`);
    printTable(table.head, table.rows);
  }

  console.log('\n=== targets ===');
  for (const target of targets) {
    console.log(`  ${target.status.padEnd(12)} ${target.name}: ${target.detail}`);
  }
  const failed = targets.filter((t) => t.status === 'FAIL').length;
  const passed = targets.filter((t) => t.status === 'PASS').length;
  const notMeasured = targets.filter((t) => t.status === 'NOT MEASURED').length;
  console.log(`\n${passed} passed, ${failed} failed, ${notMeasured} not measured`);
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const row of rows) console.log(line(row));
}

export function label(leads: number): string {
  if (leads >= 1_000_000 && leads % 1_000_000 === 0) return `${leads / 1_000_000}M`;
  if (leads >= 1_000 && leads % 1_000 === 0) return `${leads / 1_000}k`;
  return String(leads);
}

function fmt(seconds: number | null): string {
  if (seconds === null) return '-';
  return seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1);
}
