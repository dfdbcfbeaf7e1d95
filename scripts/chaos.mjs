#!/usr/bin/env node
// `npm run chaos`: the longer fault campaign. It runs the chaos scenarios of the e2e tier
// (test/e2e/chaos-*.e2e-spec.ts and test/e2e/replicas.e2e-spec.ts, harness in test/chaos/) with
// CHAOS_LONG=1 (more teardowns, random fault seeds), then prints for each scenario: teardowns
// started, completed, failed retryably, archives verified, DELETEs answered 200 and violations.
// Exit status 1 when any violation was found or any scenario failed.
//
// Needs what `npm test` needs, following scripts/test.sh's conventions:
//   DATABASE_URL      a PostgreSQL database whose name contains "test" (migrated here);
//   TEST_S3_ENV_FILE  the env file of a running S3 store (scripts/s3-local.sh writes one), or the
//                     S3_* / AWS_* variables themselves.
// The "PostgreSQL restarted" scenario starts its own throwaway cluster (PG_BIN, default
// /usr/lib/postgresql/15/bin). Only loopback traffic. Bounded by CHAOS_TIMEOUT_S (default 1500).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH ?? ''}` };

if (env.TEST_S3_ENV_FILE) {
  for (const line of readFileSync(env.TEST_S3_ENV_FILE, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2].replace(/^['"]|['"]$/g, '');
  }
}
const missing = ['DATABASE_URL', 'S3_ENDPOINT', 'S3_BUCKET'].filter((name) => !env[name]);
if (missing.length) {
  console.error(
    `chaos: ${missing.join(', ')} not set: export DATABASE_URL and TEST_S3_ENV_FILE as for npm test`,
  );
  process.exit(2);
}

function step(name, command, args) {
  const out = spawnSync(command, args, { env, stdio: 'inherit' });
  if (out.status !== 0) {
    console.error(`chaos: ${name} failed`);
    process.exit(2);
  }
}
step('prisma migrate deploy', 'npx', ['--no-install', 'prisma', 'migrate', 'deploy']);
if (env.CHAOS_SKIP_BUILD !== '1') step('build', 'npm', ['run', '-s', 'build']);

const specs = [
  'test/e2e/chaos-crash.e2e-spec.ts',
  'test/e2e/chaos-flaky.e2e-spec.ts',
  'test/e2e/chaos-deps.e2e-spec.ts',
  'test/e2e/replicas.e2e-spec.ts',
];
const dir = mkdtempSync(join(tmpdir(), 'chaos-report-'));
const reportFile = join(dir, 'report.ndjson');
const started = Date.now();
const timeoutS = Number(env.CHAOS_TIMEOUT_S ?? 1500);
const jest = spawn(
  join(root, 'node_modules/.bin/node'),
  [
    '--experimental-vm-modules',
    'node_modules/jest/bin/jest.js',
    '--selectProjects',
    'e2e',
    '--runInBand',
    '--runTestsByPath',
    ...specs,
  ],
  {
    env: { ...env, CHAOS_LONG: '1', CHAOS_REPORT_FILE: reportFile },
    stdio: 'inherit',
  },
);
const timer = setTimeout(() => {
  console.error(`chaos: campaign exceeded ${timeoutS} s; stopping it`);
  jest.kill('SIGTERM');
}, timeoutS * 1000);
const code = await new Promise((resolve) => jest.on('exit', (c) => resolve(c ?? 1)));
clearTimeout(timer);

const rows = existsSync(reportFile)
  ? readFileSync(reportFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : [];
rmSync(dir, { recursive: true, force: true });

const head = [
  'scenario',
  'started',
  'completed',
  'failed retryably',
  'archives verified',
  'DELETEs 200',
  'violations',
  's',
];
const body = rows.map((r) =>
  [
    r.scenario,
    r.started,
    r.completed,
    r.failedRetryably,
    r.archivesVerified,
    r.deletes200,
    r.violations.length,
    r.seconds,
  ].map(String),
);
const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
console.log(`\n=== chaos campaign (${Math.round((Date.now() - started) / 1000)} s) ===`);
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
for (const r of body) console.log(line(r));
const violations = rows.flatMap((r) => r.violations.map((v) => `${r.scenario}: ${v}`));
for (const v of violations) console.log(`  ! ${v}`);
const total = violations.length;
console.log(`\n${total} violations; jest exit ${code}`);
process.exit(total === 0 && code === 0 ? 0 : 1);
