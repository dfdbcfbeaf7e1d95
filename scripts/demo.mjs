// The demo's client half (scripts/demo.sh starts everything, then runs this). It operates the
// service as a person would, with the admin CLI (`dialnexa-teardown`, dist/cli/main.js): it
// requests the teardown of one workflow, watches it to its end (a live progress bar on a
// terminal, one line per change otherwise), shows the audit trail, downloads the archive and
// verifies every object against its manifest, verifies the audit chain, then fetches the signed
// deletion receipt and verifies it (offline against the service's JWKS, then online: manifests
// and anchor in the bucket, events in the chain), and ends by restoring the deleted workflow from
// its archive as a new draft (as an admin). Exits non-zero unless all of that succeeded.
//
// Environment: DEMO_BASE_URL (the service), DEMO_WORKFLOW_ID, DEMO_REQUESTER_KEY,
// DEMO_AUDITOR_KEY, DEMO_ADMIN_KEY; DEMO_ARCHIVE_DIR (where the archive is downloaded, .run/demo-archive-<id>).
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`demo: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const baseUrl = required('DEMO_BASE_URL');
const workflowId = required('DEMO_WORKFLOW_ID');
const keys = {
  requester: required('DEMO_REQUESTER_KEY'),
  auditor: required('DEMO_AUDITOR_KEY'),
  admin: required('DEMO_ADMIN_KEY'),
};
const cliPath = path.join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

/** One CLI command as `role`, shown as typed; its output goes to this terminal unless captured. */
function cli(role, args, { capture = false } = {}) {
  console.log(
    `\n$ dialnexa-teardown ${args.map((a) => (/^[\w./:-]+$/.test(a) ? a : `'${a}'`)).join(' ')}   # as ${role}`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, DIALNEXA_TEARDOWN_URL: baseUrl, DIALNEXA_TEARDOWN_API_KEY: keys[role] },
      stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    });
    let stdout = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

async function main() {
  const requested = await cli(
    'requester',
    [
      '--json',
      'request',
      workflowId,
      '--reason',
      'Demo: GDPR erasure, ticket PRIV-1042',
      '--ticket',
      'PRIV-1042',
    ],
    { capture: true },
  );
  if (requested.code !== 0) return false;
  const id = JSON.parse(requested.stdout).id;
  console.log(`requested teardown ${id}`);

  const watched = await cli('requester', ['watch', id, '--interval', '250']);
  const trail = await cli('auditor', ['audit', 'trail', id]);
  const dir =
    process.env.DEMO_ARCHIVE_DIR || path.join(import.meta.dirname, '..', '.run', `demo-archive-${id}`);
  await rm(dir, { recursive: true, force: true });
  const archive = await cli('auditor', ['archive', 'get', id, '--out', dir]);
  const chain = await cli('auditor', ['audit', 'verify']);
  const receiptFile = `${dir}-receipt.json`;
  await rm(receiptFile, { force: true });
  const receipt = await cli('requester', ['receipt', 'get', id, '--out', receiptFile]);
  const offline = await cli('requester', ['receipt', 'verify', receiptFile]);
  const online = await cli('auditor', ['receipt', 'verify', receiptFile, '--online']);

  const restored = await cli('admin', [
    'restore',
    'start',
    id,
    '--reason',
    'Demo: the deletion was a mistake; bring the workflow back as a draft',
    '--wait',
  ]);

  const runs = [watched, trail, archive, chain, receipt, offline, online, restored];
  const ok = runs.every((run) => run.code === 0);
  console.log(
    `\n${ok ? 'DEMO OK' : 'DEMO FAILED'}: teardown ${id} of ${workflowId}; its archive is in ${dir}, its signed receipt in ${receiptFile}; restored as a new draft (above)`,
  );
  return ok;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    console.error(`\nDEMO FAILED: ${err.message}`);
    process.exit(1);
  },
);
