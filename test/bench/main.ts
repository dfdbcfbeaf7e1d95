/**
 * `npm run bench [-- --quick]`: issue 9's benchmark, run by scripts/test.sh on the services it
 * starts (PostgreSQL with a fresh `dialnexa_teardown_bench` database, a throwaway Ceph store), on
 * the built service. For each size (quick: 10k and 100k leads; full: also 1M) it measures a dry-run
 * teardown against the standalone DialNexa simulator on loopback (no rate limit, long transcripts
 * capped), then the floor in the same run, prints the tables and PASS / FAIL per target, and writes
 * the figures to bench/results/<date>-<mode>.json. Exit status 1 when any target fails (a wrong
 * archive among them); tables not measured yet are printed as such.
 *
 * Needs: DATABASE_URL (a database whose name contains "bench": the bench drops nothing itself, but
 * its teardowns and audit events land there), the S3_* / AWS_* variables or TEST_S3_ENV_FILE, and
 * dist/ built. `--sizes 10000,50000` measures other sizes (mode "custom"), for development.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { checkArchive } from './archive-check.ts';
import { LEADS_PER_PAGE, round, runExport } from './export-run.ts';
import type { ExportRun } from './export-run.ts';
import { fetchFloor, gzipFloor, gzipUploadFloor, s3ClientFor } from './floor.ts';
import type { S3Settings } from './floor.ts';
import { describeCheckout, describeMachine, loadAverage, testRunActive } from './proc-stats.ts';
import { type LatencyRun, measureApiLatency } from './api-latency.ts';
import { capacityTable, capacityTargets, checkCapacityPlan } from './capacity-check.ts';
import { type FleetRun, runFleet } from './fleet-run.ts';
import {
  apiLatencyTable,
  evaluateTargets,
  fleetTargets,
  latencyTargets,
  exportPlusVerify,
  label,
  printReport,
  rateBudgetTable,
} from './report.ts';
import type { FloorResult, SizeResult, Target } from './report.ts';
import { type ResumeRun, resumeTable, resumeTarget, runResume } from './resume-run.ts';
import { SimulatorProcess } from './simulator-process.ts';
import { shippedNodeOptions } from '../support/test-services.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
process.chdir(root);

const QUICK_SIZES = [10_000, 100_000];
const FULL_SIZES = [10_000, 100_000, 1_000_000];
const REQUESTER_KEY = 'bench-requester-key-000000000001';
const REQUESTER_NAME = 'bench';
/** The simulator's limit, far above anything one export sends: "no rate limit". */
const NO_RATE_LIMIT = '1000000000/60000';
/** The seed's transcripts (16 KB to 1 MB every 256th lead) capped at its smallest size. */
const MAX_TRANSCRIPT_LENGTH = 16_384;
/**
 * What the service writes with, mirrored here (the bench imports nothing from src/):
 * `createGzip({ level: GZIP_LEVEL })` in src/archive/archive.service.ts (3), the default
 * ARCHIVE_PART_SIZE_MB (8) and PARTS_IN_FLIGHT in src/archive/archive-store.client.ts (2). The
 * floor's gzip output is compared with the archive's size below, which shows a changed level.
 */
const FLOOR_SETTINGS = {
  gzipLevel: 3, // GZIP_LEVEL in src/archive/archive.service.ts
  partSizeBytes: 8 * 2 ** 20,
  partsInFlight: 2,
};
/** The gzip levels measured beside the service's (GZIP_LEVEL's comment in archive.service.ts). */
const GZIP_LEVELS_COMPARED = [1, 3, 6];
const TEST_LOCK = join(process.env['TMPDIR'] || tmpdir(), 'dialnexa-teardown-test.lock');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'service-node-options': { type: 'string' },
    only: { type: 'string' },
  },
  strict: true,
});
const mode: 'quick' | 'full' | 'custom' = values.sizes ? 'custom' : values.quick ? 'quick' : 'full';
const sizes = values.sizes ? parseSizes(values.sizes) : values.quick ? QUICK_SIZES : FULL_SIZES;
/** Experiments only (say, --max-old-space-size): the figures are then not the service's own. */
const serviceNodeOptions = values['service-node-options'];
const profile = values.profile;
/** `--only export`: the export sizes alone (no fleets, API latency or capacity model), for development. */
const only = values.only;
if (only !== undefined && only !== 'export') die(`--only accepts "export", got ${only}`);
const exportOnly = only === 'export';
/** Figures from a service run other than as shipped: kept apart, never quoted as the bench's. */
const variant = [
  profile ? 'profiled' : '',
  serviceNodeOptions ? 'node-options' : '',
  exportOnly ? 'export-only' : '',
].filter(Boolean);

function parseSizes(text: string): number[] {
  const parsed = text.split(',').map((part) => Number(part.trim()));
  if (parsed.some((n) => !Number.isInteger(n) || n < 1))
    throw new RangeError(`--sizes expects positive integers separated by commas, got ${text}`);
  return parsed;
}

function die(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function loadS3EnvFile(): void {
  const file = process.env['TEST_S3_ENV_FILE'];
  if (process.env['S3_ENDPOINT'] || !file) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) process.env[match[1]!] = match[2]!.replace(/^['"]|['"]$/g, '');
  }
}

function benchDatabaseUrl(): string {
  const url = process.env['DATABASE_URL'];
  if (!url) die('DATABASE_URL is not set: run the bench through `npm run bench`');
  // Like the tests' guard: the bench's teardowns never land in a database that matters.
  if (!new URL(url).pathname.includes('bench'))
    die(`refusing ${new URL(url).pathname}: the bench's database name must contain "bench"`);
  return url;
}

/**
 * Every service process the bench starts would resume an unfinished teardown left in its database
 * (by a bench that was interrupted), and measure two at once: `npm run bench` recreates it.
 */
async function refuseUnfinishedTeardowns(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM teardown WHERE status NOT IN ('completed', 'failed', 'rejected', 'aborted')`,
    );
    const unfinished = rows[0]?.n ?? 0;
    if (unfinished > 0)
      die(
        `${unfinished} unfinished teardowns in the bench's database: run \`npm run bench\`, which recreates it`,
      );
  } finally {
    await client.end();
  }
}

loadS3EnvFile();
const databaseUrl = benchDatabaseUrl();
await refuseUnfinishedTeardowns(databaseUrl);
const s3Settings: S3Settings = {
  endpoint: process.env['S3_ENDPOINT'] || undefined,
  region: process.env['S3_REGION'] || 'us-east-1',
  bucket: process.env['S3_BUCKET'] || die('S3_BUCKET is not set: set TEST_S3_ENV_FILE or S3_*'),
  accessKeyId: process.env['AWS_ACCESS_KEY_ID'],
  secretAccessKey: process.env['AWS_SECRET_ACCESS_KEY'],
  forcePathStyle: process.env['S3_FORCE_PATH_STYLE'] !== 'false',
};
if (!existsSync(join(root, 'dist/main.js'))) die('dist/main.js is missing: run `npm run build` first');

const startedAt = new Date();
const runId = startedAt.toISOString().replace(/[:.]/g, '-');
const archivePrefix = `bench/${runId}/`;
const machine = describeMachine();
const checkout = describeCheckout(root);
const s3 = s3ClientFor(s3Settings);
console.log(
  `bench (${mode}): ${sizes.map(label).join(', ')} leads on ${machine.cpuModel}, ${machine.cores} cores, ` +
    `${(machine.memoryMiB / 1024).toFixed(1)} GiB, node ${machine.node}` +
    (checkout
      ? `, ${checkout.branch} ${checkout.commit.slice(0, 10)}${checkout.dirty ? ' (uncommitted changes)' : ''}`
      : ''),
);
console.log(
  `bench: the service runs with its shipped Node flags (package.json config.nodeOptions): ${shippedNodeOptions() || 'none'}`,
);
if (variant.length > 0) {
  console.log(
    `bench: ${variant.join(', ')}${serviceNodeOptions ? ` (service NODE_OPTIONS=${serviceNodeOptions}, after the shipped flags)` : ''}: ` +
      'these figures are not the service as shipped; the results file says so',
  );
}

const simulator = await new SimulatorProcess({
  rateLimit: NO_RATE_LIMIT,
  maxTranscriptLength: MAX_TRANSCRIPT_LENGTH,
  seed: 1,
}).start();

function serviceEnv(): Record<string, string> {
  // Production defaults for everything that shapes the export (RUNNER_CONCURRENCY, part size,
  // retries, timeouts): only where to reach things, who may call, and the lock mode are set.
  return {
    DATABASE_URL: databaseUrl,
    DIALNEXA_BASE_URL: simulator.url,
    DIALNEXA_API_KEY: simulator.apiKey,
    S3_BUCKET: s3Settings.bucket,
    S3_ENDPOINT: s3Settings.endpoint ?? '',
    S3_REGION: s3Settings.region,
    S3_FORCE_PATH_STYLE: String(s3Settings.forcePathStyle),
    AWS_ACCESS_KEY_ID: s3Settings.accessKeyId ?? '',
    AWS_SECRET_ACCESS_KEY: s3Settings.secretAccessKey ?? '',
    ARCHIVE_PREFIX: archivePrefix,
    ARCHIVE_LOCK_MODE: 'GOVERNANCE',
    ARCHIVE_RETENTION_DAYS: '1',
    API_KEYS: JSON.stringify([{ name: REQUESTER_NAME, key: REQUESTER_KEY, roles: ['requester'] }]),
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    // The bench is one caller polling its teardowns every few tens of ms (the resume scenario
    // waits for 90%, the fleets poll 50 teardowns): past the API's per-caller limit (600 a
    // minute), which an operator raises for such a caller. The API latency run needs it too.
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    ...(serviceNodeOptions ? { NODE_OPTIONS: serviceNodeOptions } : {}),
  };
}

async function measureFloor(run: ExportRun, ndjson: readonly Buffer[]): Promise<FloorResult> {
  const serviceConcurrency = Math.max(1, run.requests.pageConcurrency);
  const fetch: FloorResult['fetch'] = {};
  for (const inFlight of [...new Set([1, 4, serviceConcurrency])].sort((a, b) => a - b)) {
    fetch[String(inFlight)] = await fetchFloor(simulator, run.workflowId, run.pages, inFlight);
  }
  const gzip = await gzipFloor(ndjson, FLOOR_SETTINGS.gzipLevel);
  const gzipLevels: NonNullable<FloorResult['gzipLevels']> = {};
  for (const level of GZIP_LEVELS_COMPARED) {
    gzipLevels[String(level)] = level === FLOOR_SETTINGS.gzipLevel ? gzip : await gzipFloor(ndjson, level);
  }
  console.log(
    `gzip alone by level: ${Object.entries(gzipLevels)
      .map(([level, g]) => `${level}: ${g.seconds.toFixed(2)} s, ${(g.bytes / 1e6).toFixed(1)} MB`)
      .join('; ')}`,
  );
  const gzipUpload = await gzipUploadFloor(
    s3,
    s3Settings.bucket,
    `${archivePrefix}floor/${run.leads}.ndjson.gz`,
    ndjson,
    FLOOR_SETTINGS,
  );
  const fetchAtService = fetch[String(serviceConcurrency)]!.seconds;
  return {
    settings: FLOOR_SETTINGS,
    fetch,
    serviceConcurrency,
    gzip,
    gzipLevels,
    gzipUpload,
    seconds: Math.max(fetchAtService, gzipUpload.seconds),
  };
}

const results: SizeResult[] = [];
/** The smallest size whose leads take more than one part (8 MiB of gzip: about 88,000 simulator leads). */
const RESUME_MIN_LEADS = 100_000;
let resume: ResumeRun | undefined;
let resumeSkipped = '';
const errors: Array<{ leads: number; message: string }> = [];
try {
  for (const leads of sizes) {
    console.log(`\n--- ${label(leads)} leads (${Math.ceil(leads / LEADS_PER_PAGE)} pages) ---`);
    const busyBefore = testRunActive(TEST_LOCK);
    const loadAverageBefore = loadAverage();
    try {
      const run = await runExport(
        {
          simulator,
          serviceEnv: serviceEnv(),
          requesterKey: REQUESTER_KEY,
          runId,
          timeoutMs: 120_000 + leads * 1.2, // 1M took 142 s on a quiet machine, over 660 s on a loaded one
          profile,
        },
        leads,
      );
      console.log(
        `teardown ${run.teardown.id} ${run.teardown.status}: export ${run.seconds.export?.toFixed(2)} s, ` +
          `verify ${run.seconds.verify?.toFixed(2)} s, peak RSS ${run.rss.peakMb.toFixed(0)} MB, ` +
          `${run.requests.actual} requests`,
      );
      const { ndjson, ...archive } = await checkArchive(s3, run.teardown, leads);
      if (!archive.ok) console.log(`CORRECTNESS FAILURE: ${archive.problems.join('; ')}`);
      const floor = await measureFloor(run, ndjson);
      ndjson.length = 0; // up to a gigabyte at 1M: released before the next size
      const spent = exportPlusVerify(run);
      const ratio = spent === null ? null : round(spent / floor.seconds, 3);
      console.log(`floor ${floor.seconds.toFixed(2)} s, ratio ${ratio ?? '-'}`);
      results.push({
        leads,
        run,
        archive,
        floor,
        ratio,
        testRunDuring: busyBefore || testRunActive(TEST_LOCK),
        loadAverageBefore,
      });
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`bench: ${label(leads)} leads failed: ${message}`);
      errors.push({ leads, message });
      break; // a larger size would fail the same way, only later
    }
  }
  // the time a resume saves, on the largest size (its full export was just measured)
  const largest = results.at(-1);
  if (errors.length > 0 || !largest) resumeSkipped = 'the export sizes did not all run';
  else if (largest.leads < RESUME_MIN_LEADS)
    resumeSkipped = `needs a size of at least ${label(RESUME_MIN_LEADS)} leads (more than one 8 MiB part of gzip)`;
  else {
    console.log(`\n--- resume: ${label(largest.leads)} leads, SIGKILL at 90% once a part is recorded ---`);
    try {
      resume = await runResume(
        {
          simulator,
          serviceEnv: serviceEnv(),
          databaseUrl,
          requesterKey: REQUESTER_KEY,
          runId,
          timeoutMs: 120_000 + largest.leads * 1.2,
          fullExportSeconds: largest.run.seconds.export,
        },
        largest.leads,
      );
      // the resumed archive, read back like every other: N lines, N distinct ids
      const { ndjson: resumedNdjson, ...resumedArchive } = await checkArchive(
        s3,
        resume.teardown,
        largest.leads,
      );
      resumedNdjson.length = 0;
      if (!resumedArchive.ok) {
        console.log(`CORRECTNESS FAILURE (resumed archive): ${resumedArchive.problems.join('; ')}`);
        errors.push({
          leads: largest.leads,
          message: `resumed archive: ${resumedArchive.problems.join('; ')}`,
        });
      }
      console.log(
        `resume: killed at ${resume.crashedAt.leadsExported} leads, resumed after ${resume.resumedAfter?.leads ?? '-'}, ` +
          `export ${resume.resumedExportSeconds ?? '-'} s against ${resume.fullExportSeconds ?? '-'} s in full`,
      );
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`bench: the resume scenario failed: ${message}`);
      errors.push({ leads: largest.leads, message: `resume: ${message}` });
    }
  }
} finally {
  await simulator.stop();
}

/**
 * The shared rate budget and many teardowns at once, against a simulator with DialNexa's kind of
 * limit (600 requests per key per 10 s window): two replicas exporting big workflows together
 * (enough requests for several windows), then 50 teardowns of 2,000 leads submitted at once
 * (full teardowns: export, cancel, settle, final snapshot, delete).
 */
const RATE_LIMIT = { count: 600, windowMs: 10_000 };
const fleets: { rate?: FleetRun; many?: FleetRun } = {};
if (errors.length === 0 && !exportOnly) {
  const limited = await new SimulatorProcess({
    rateLimit: `${RATE_LIMIT.count}/${RATE_LIMIT.windowMs}`,
    maxTranscriptLength: MAX_TRANSCRIPT_LENGTH,
    seed: 2,
  }).start();
  const scenarios = [
    {
      slot: 'rate' as const,
      name: 'shared rate budget',
      replicas: 2,
      teardowns: mode === 'full' ? 8 : 6,
      leadsEach: mode === 'full' ? 40_000 : 30_000,
      dryRun: true,
    },
    {
      slot: 'many' as const,
      name: '50 at once',
      replicas: 2,
      teardowns: 50,
      leadsEach: 2_000,
      dryRun: false,
    },
  ];
  try {
    for (const { slot, ...scenario } of scenarios) {
      console.log(
        `\n--- ${scenario.name}: ${scenario.replicas} replicas, ${scenario.teardowns} x ${label(scenario.leadsEach)} leads, limit ${RATE_LIMIT.count} / ${RATE_LIMIT.windowMs / 1000} s ---`,
      );
      try {
        const run = await runFleet({
          ...scenario,
          simulator: limited,
          serviceEnv: {
            ...serviceEnv(),
            DIALNEXA_BASE_URL: limited.url,
            DIALNEXA_API_KEY: limited.apiKey,
          },
          databaseUrl,
          requesterKey: REQUESTER_KEY,
          runId,
          limit: RATE_LIMIT,
          timeoutMs: 600_000,
        });
        fleets[slot] = run;
        console.log(
          `${scenario.name}: ${JSON.stringify(run.statuses)} in ${run.seconds} s, ${run.requests.total} requests ` +
            `(${run.requests.limited} answered 429), ${run.requests.perSecond} req/s of ${run.requests.limitPerSecond}`,
        );
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        console.error(`bench: ${scenario.name} failed: ${message}`);
        errors.push({ leads: scenario.leadsEach, message: `${scenario.name}: ${message}` });
      }
    }
  } finally {
    await limited.stop();
  }
}

/** The REST API under load, last: its POSTs leave queued teardowns behind in the bench's database. */
let latency: LatencyRun | undefined;
if (errors.length === 0 && !exportOnly) {
  console.log('\n--- API latency ---');
  const unlimited = await new SimulatorProcess({
    rateLimit: NO_RATE_LIMIT,
    maxTranscriptLength: MAX_TRANSCRIPT_LENGTH,
    seed: 3,
  }).start();
  try {
    latency = await measureApiLatency({
      simulator: unlimited,
      serviceEnv: {
        ...serviceEnv(),
        DIALNEXA_BASE_URL: unlimited.url,
        DIALNEXA_API_KEY: unlimited.apiKey,
      },
      databaseUrl,
      requesterKey: REQUESTER_KEY,
      requesterName: REQUESTER_NAME,
      runId,
      onRecord: 10_000,
      exportLeads: mode === 'full' ? 800_000 : 400_000,
      durationS: mode === 'full' ? 10 : 5,
    });
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`bench: the API latency measurement failed: ${message}`);
    errors.push({ leads: 0, message: `API latency: ${message}` });
  } finally {
    await unlimited.stop();
  }
}

/** docs/capacity.md's claims against the model of the queue and the shared rate budget. */
const capacity = exportOnly ? undefined : checkCapacityPlan(mode === 'full' ? 7 : 2);

const targets: Target[] = [
  ...evaluateTargets(mode, results),
  resumeTarget(resume, resumeSkipped),
  ...(capacity ? capacityTargets(capacity) : []),
  ...(exportOnly ? [] : fleetTargets(fleets.rate, fleets.many)),
  ...(exportOnly ? [] : latencyTargets(latency)),
];
for (const failed of errors) {
  targets.unshift({
    name: `bench ran to the end (${failed.leads > 0 ? label(failed.leads) : 'API latency'})`,
    status: 'FAIL',
    detail: failed.message.split('\n')[0]!,
  });
}
const pending = exportOnly
  ? [resumeTable(resume, resumeSkipped)]
  : [
      resumeTable(resume, resumeSkipped),
      rateBudgetTable([fleets.rate, fleets.many].filter((f) => f !== undefined)),
      apiLatencyTable(latency),
      capacityTable(capacity!),
    ];
printReport(mode, results, targets, pending);

const durationS = round((Date.now() - startedAt.getTime()) / 1000, 1);
const outDir = join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, `${runId.slice(0, 19)}Z-${[mode, ...variant].join('-')}.json`);
writeFileSync(
  outFile,
  `${JSON.stringify(
    {
      bench: 'dialnexa-teardown npm run bench',
      formatVersion: 1,
      mode,
      variant,
      date: startedAt.toISOString(),
      durationS,
      machine,
      checkout,
      settings: {
        service: {
          process: 'dist/main.js, a fresh process per size',
          RUNNER_CONCURRENCY: 'default',
          ARCHIVE_PART_SIZE_MB: 'default',
          ARCHIVE_LOCK_MODE: 'GOVERNANCE',
          LOG_LEVEL: 'info',
          shippedNodeOptions: shippedNodeOptions(),
          NODE_OPTIONS: serviceNodeOptions ?? null,
          inspector: profile ? 'attached (--profile): CPU sampled every 1 ms' : null,
          teardown: 'dryRun: true (export, verify, audit)',
        },
        simulator: {
          process: 'test/simulator/main.ts, standalone, loopback',
          rateLimit: NO_RATE_LIMIT,
          maxTranscriptLength: MAX_TRANSCRIPT_LENGTH,
          workflow: { nodes: 5, edges: 6 },
        },
        floor: FLOOR_SETTINGS,
        stepTimes:
          "the runner's step transitions (its 'step <name> (attempt n)' log lines, ms timestamps); " +
          'progress.step as polled every 250 ms when those lines are missing',
        peakRss: 'VmHWM of the service process, read when the teardown ended',
        cpu: 'utime + stime of the service process from the POST to the end of the teardown',
      },
      sizes: results,
      resume: resume ? { ...resume, teardown: undefined } : { skipped: resumeSkipped },
      fleets,
      latency,
      capacity,
      errors,
      targets,
      pending,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${outFile.slice(root.length + 1)} (${durationS} s)`);
process.exit(targets.some((t) => t.status === 'FAIL') ? 1 : 0);
