// The demo's client half (scripts/demo.sh starts everything, then runs this): requests the
// teardown of one workflow, follows it to a terminal status, and shows what it left behind,
// the teardown, its audit trail and its archive manifest. Exits non-zero unless the teardown
// completed and its audit trail and archive could be read.
//
// Environment: DEMO_BASE_URL (the service), DEMO_WORKFLOW_ID, DEMO_REQUESTER_KEY,
// DEMO_AUDITOR_KEY, DEMO_TIMEOUT_S (300).
import { randomUUID } from 'node:crypto';

const TERMINAL = new Set(['completed', 'failed', 'aborted', 'rejected']);

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`demo: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const baseUrl = required('DEMO_BASE_URL').replace(/\/+$/, '');
const workflowId = required('DEMO_WORKFLOW_ID');
const requesterKey = required('DEMO_REQUESTER_KEY');
const auditorKey = required('DEMO_AUDITOR_KEY');
const timeoutMs = Number(process.env.DEMO_TIMEOUT_S || 300) * 1000;

const started = Date.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`;
const show = (value) => JSON.stringify(value, null, 2);

class HttpError extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path} -> ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    this.status = status;
  }
}

async function call(method, path, key, { body, headers = {} } = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page, say): shown as text in the error below.
  }
  if (!res.ok) throw new HttpError(method, path, res.status, parsed);
  return { status: res.status, body: parsed };
}

function describe(td) {
  const p = td.progress ?? {};
  const leads =
    p.leadsExported === undefined || p.leadsExported === null
      ? ''
      : ` leads ${p.leadsExported}/${p.leadsTotal ?? '?'}`;
  return `status=${td.status}${p.step ? ` step=${p.step}` : ''}${leads}`;
}

async function follow(id) {
  let last = '';
  let errors = 0;
  while (Date.now() - started < timeoutMs) {
    let td;
    try {
      td = (await call('GET', `/v1/teardowns/${id}`, requesterKey)).body;
      errors = 0;
    } catch (err) {
      // A dropped connection or a 5xx while polling is worth a few more tries, not an abort.
      if (err instanceof HttpError && err.status < 500) throw err;
      if (++errors >= 10) throw err;
      console.log(`${stamp()} (poll failed: ${err.message}; retrying)`);
      await sleep(1000);
      continue;
    }
    const line = describe(td);
    if (line !== last) {
      console.log(`${stamp()} ${line}`);
      last = line;
    }
    if (TERMINAL.has(td.status)) return td;
    await sleep(250);
  }
  throw new Error(`teardown ${id} did not finish within ${timeoutMs / 1000} s`);
}

async function main() {
  const idempotencyKey = `demo-${randomUUID()}`;
  const request = {
    workflowId,
    reason: 'Demo: GDPR erasure, ticket PRIV-1042',
    ticket: 'PRIV-1042',
  };
  console.log(
    `${stamp()} POST /v1/teardowns ${JSON.stringify(request)} (Idempotency-Key: ${idempotencyKey})`,
  );
  const created = await call('POST', '/v1/teardowns', requesterKey, {
    body: request,
    headers: { 'idempotency-key': idempotencyKey },
  });
  const id = created.body.id;
  console.log(`${stamp()} ${created.status}: teardown ${id}`);

  const td = await follow(id);
  let ok = td.status === 'completed';

  console.log(`\n--- teardown ${id} ---\n${show(td)}`);

  const sections = [
    ['audit trail', `/v1/teardowns/${id}/audit`, (body) => formatAudit(body)],
    ['archive manifest', `/v1/teardowns/${id}/archive`, (body) => show(body)],
    ['audit chain verification', '/v1/audit/verify', (body) => show(body)],
  ];
  for (const [title, path, format] of sections) {
    try {
      const { body } = await call('GET', path, auditorKey);
      console.log(`\n--- ${title} (GET ${path}, as auditor) ---\n${format(body)}`);
      if (path === '/v1/audit/verify' && body?.ok !== true) ok = false;
    } catch (err) {
      console.log(`\n--- ${title} ---\nFAILED: ${err.message}`);
      ok = false;
    }
  }

  console.log(
    `\n${ok ? 'DEMO OK' : 'DEMO FAILED'}: teardown ${id} of ${workflowId} is ${td.status}` +
      (td.error ? ` (${td.error.code}: ${td.error.message})` : ''),
  );
  return ok;
}

function formatAudit(body) {
  const events = body?.data ?? [];
  if (!Array.isArray(events) || events.length === 0) return show(body);
  return events
    .map(
      (e) => `#${e.seq} ${e.at} ${e.actor} ${e.type} ${JSON.stringify(e.details ?? {})}\n   hash ${e.hash}`,
    )
    .join('\n');
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    console.error(`\nDEMO FAILED: ${err.message}`);
    process.exit(1);
  },
);
