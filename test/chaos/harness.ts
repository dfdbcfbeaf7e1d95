/**
 * The fault-campaign harness: the built service as killable/pausable child processes, an HTTP
 * proxy in front of the S3 store that sees (and can cut) every S3 request, database helpers, and
 * the invariant checker that every chaos scenario ends with.
 *
 * Erasable TypeScript with no import from src/, so `node --experimental-strip-types` can run it
 * (scripts/chaos.mjs) as well as Jest. Nothing here touches the service's code: every internal
 * point (manifest written, verification done, audit committed) is observed from outside, through
 * the S3 proxy, the simulator's request hooks and the database.
 */
import { GetObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import {
  request as httpRequest,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import type { DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';
import {
  databaseUrl,
  emptyTables,
  freePort,
  serviceEnvFor,
  ServiceProcess,
  sleep,
  until,
} from '../support/test-services.ts';

export { databaseUrl, freePort, sleep, until };
/** The built service as a killable, pausable child process (test/support/test-services.ts). */
export { ServiceProcess as ChaosService };

export const KEYS = {
  requester: 'chaos-requester-key-00001',
  auditor: 'chaos-auditor-key-0000001',
  admin: 'chaos-admin-key-000000001',
} as const;

const API_KEYS = JSON.stringify([
  { name: 'chaos-team', key: KEYS.requester, roles: ['requester'] },
  { name: 'chaos-audit', key: KEYS.auditor, roles: ['auditor'] },
  { name: 'chaos-admin', key: KEYS.admin, roles: ['admin'] },
]);

export const TERMINAL = ['completed', 'failed', 'aborted', 'rejected'];

export function s3Settings() {
  return {
    endpoint: process.env['S3_ENDPOINT'] ?? '',
    bucket: process.env['S3_BUCKET'] ?? '',
    region: process.env['S3_REGION'] ?? 'us-east-1',
    accessKeyId: process.env['AWS_ACCESS_KEY_ID'] ?? '',
    secretAccessKey: process.env['AWS_SECRET_ACCESS_KEY'] ?? '',
  };
}

/** The service's environment for a chaos scenario: fast timings, a fresh archive prefix. */
export function chaosEnv(
  simulatorUrl: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return serviceEnvFor(
    simulatorUrl,
    {
      apiKeys: API_KEYS,
      archivePrefix: `chaos-${randomBytes(4).toString('hex')}/`,
      logLevel: process.env['CHAOS_LOG_LEVEL'] ?? 'warn',
    },
    { DELETE_SETTLE_TIMEOUT_S: '30', RUNNER_LEASE_SECONDS: '2', ...overrides },
  );
}

// ---------------------------------------------------------------------------------------------
// The service as a child process

// ---------------------------------------------------------------------------------------------
// REST client

export interface Answer {
  status: number;
  body: Record<string, any>;
}

export function api(baseUrl: string) {
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    key: string = KEYS.admin,
  ): Promise<Answer> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  };
  return {
    call,
    async create(workflowId: string, reason = 'chaos campaign'): Promise<string> {
      const answer = await call('POST', '/v1/teardowns', { workflowId, reason }, KEYS.requester);
      if (answer.status !== 202)
        throw new Error(`create answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      return String(answer.body['id']);
    },
    get: (id: string) => call('GET', `/v1/teardowns/${id}`),
    /**
     * The campaign polls every teardown every 100 ms with the admin key, past the API's per-caller
     * limit (600 a minute): a retry answered 429 is sent again after its Retry-After, as a caller
     * should, instead of being taken for a refusal.
     */
    async retry(id: string): Promise<Answer> {
      for (let attempt = 1; ; attempt++) {
        const answer = await call('POST', `/v1/teardowns/${id}/retry`, undefined, KEYS.admin);
        if (answer.status !== 429 || attempt >= 10) return answer;
        const seconds = Number(answer.body['details']?.['retryAfterSeconds'] ?? 1);
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, seconds) * 1000));
      }
    },
    readyz: () => call('GET', '/readyz'),
    async waitForEnd(id: string, timeoutMs = 60_000): Promise<Record<string, any>> {
      let last: Record<string, any> = {};
      await until(
        `teardown ${id} to end`,
        async () => {
          last = (await call('GET', `/v1/teardowns/${id}`).catch(() => ({ status: 0, body: {} }))).body;
          return TERMINAL.includes(String(last['status']));
        },
        timeoutMs,
        100,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(last)}`);
      });
      return last;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Database

export class Db {
  readonly url: string;
  private readonly pool: pg.Pool;

  constructor(url: string = databaseUrl()) {
    this.url = url;
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    this.pool.on('error', () => undefined); // a restarted test cluster drops idle clients
  }

  async query<T extends pg.QueryResultRow = Record<string, any>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    return (await this.pool.query<T>(sql, params)).rows;
  }

  async reset(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await emptyTables(client);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  /**
   * Blocks every audit append (the service's `appendInTransaction` inserts into audit_event)
   * until the returned release is called: the service can reach but not commit its next event.
   */
  async lockAudit(): Promise<() => Promise<void>> {
    const client = await this.pool.connect();
    await client.query('BEGIN');
    await client.query('LOCK TABLE audit_event IN EXCLUSIVE MODE');
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    };
  }

  async row(id: string): Promise<Record<string, any> | undefined> {
    return (await this.query('SELECT * FROM teardown WHERE id = $1', [id]))[0];
  }

  async events(id: string): Promise<Array<{ seq: string; type: string; at: Date }>> {
    return this.query('SELECT seq, type, at FROM audit_event WHERE teardown_id = $1 ORDER BY seq', [id]);
  }

  async hasEvent(id: string, type: string): Promise<boolean> {
    return (
      (await this.query('SELECT 1 FROM audit_event WHERE teardown_id = $1 AND type = $2', [id, type]))
        .length > 0
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

// ---------------------------------------------------------------------------------------------
// S3 proxy

export interface S3Call {
  method: string;
  /** The path and query as the service sent them, e.g. `/bucket/prefix/manifest.json?versionId=…`. */
  url: string;
  key: string;
  query: string;
}

export type S3Mode = 'pass' | 'cut' | 'blackhole';

/**
 * An HTTP proxy between the service and the S3 store. It forwards requests unchanged (the Host
 * header is kept, so SigV4 signatures stay valid), records them, and lets a scenario act on one:
 * before it is forwarded (`beforeForward`), or once the store answered but before the answer is
 * relayed (`beforeRelay`, e.g. "the manifest is written but the service never learned it").
 * `cut` refuses every connection (resets), `blackhole` holds them unanswered.
 */
export class S3Proxy {
  readonly calls: Array<S3Call & { status: number }> = [];
  mode: S3Mode = 'pass';
  beforeForward: ((call: S3Call) => Promise<'forward' | 'drop'> | 'forward' | 'drop') | null = null;
  beforeRelay: ((call: S3Call, status: number) => Promise<'relay' | 'drop'> | 'relay' | 'drop') | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly target: URL;
  private readonly bucket: string;
  port = 0;

  constructor(target: string = s3Settings().endpoint, bucket: string = s3Settings().bucket) {
    this.target = new URL(target);
    this.bucket = bucket;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket: Socket) => {
      if (this.mode === 'cut') {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  /** Resets every open connection and refuses new ones. */
  cut(): void {
    this.mode = 'cut';
    for (const socket of this.sockets) socket.destroy();
  }

  /** Holds every new request unanswered (connections stay open). */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  restore(): void {
    this.mode = 'pass';
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private describe(req: IncomingMessage): S3Call {
    const raw = req.url ?? '/';
    const [path = '/', query = ''] = raw.split('?');
    const prefix = `/${this.bucket}/`;
    const key = decodeURIComponent(path.startsWith(prefix) ? path.slice(prefix.length) : path.slice(1));
    return { method: (req.method ?? 'GET').toUpperCase(), url: raw, key, query };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = this.describe(req);
    if (this.mode === 'cut') {
      req.socket.destroy();
      return;
    }
    if (this.mode === 'blackhole') return; // never answered; the socket stays open
    if (this.beforeForward && (await this.beforeForward(call)) === 'drop') {
      req.socket.destroy();
      this.calls.push({ ...call, status: 0 });
      return;
    }
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        void (async () => {
          const status = answer.statusCode ?? 0;
          if (this.beforeRelay && (await this.beforeRelay(call, status)) === 'drop') {
            answer.resume();
            req.socket.destroy();
            this.calls.push({ ...call, status: 0 });
            return;
          }
          this.calls.push({ ...call, status });
          res.writeHead(status, answer.headers);
          answer.pipe(res);
        })();
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  }
}

// ---------------------------------------------------------------------------------------------
// A throwaway PostgreSQL cluster (for "PostgreSQL restarted mid-teardown")

export class ThrowawayPostgres {
  readonly dir: string;
  port = 0;
  private readonly bin: string;

  constructor(bin = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin') {
    this.bin = bin;
    this.dir = mkdtempSync(join(tmpdir(), 'chaos-pg-'));
  }

  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/dialnexa_chaos_pg_test`;
  }

  private asPostgres(args: string[]): void {
    const asRoot = process.getuid?.() === 0;
    const command = asRoot ? 'runuser' : args[0]!;
    const argv = asRoot ? ['-u', 'postgres', '--', ...args] : args.slice(1);
    const out = spawnSync(command, argv, { encoding: 'utf8', timeout: 60_000 });
    if (out.status !== 0) throw new Error(`${args.join(' ')} failed: ${out.stderr}${out.stdout}`);
  }

  async init(): Promise<this> {
    this.port = await freePort();
    if (process.getuid?.() === 0) spawnSync('chown', ['postgres', this.dir]);
    this.asPostgres([
      `${this.bin}/initdb`,
      '-D',
      `${this.dir}/data`,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
    ]);
    this.start();
    const admin = new pg.Client({
      connectionString: `postgresql://postgres@127.0.0.1:${this.port}/postgres`,
    });
    await admin.connect();
    await admin.query('CREATE DATABASE dialnexa_chaos_pg_test');
    await admin.end();
    return this;
  }

  start(): void {
    this.asPostgres([
      `${this.bin}/pg_ctl`,
      '-D',
      `${this.dir}/data`,
      '-w',
      '-l',
      `${this.dir}/log`,
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`,
      'start',
    ]);
  }

  stop(): void {
    this.asPostgres([`${this.bin}/pg_ctl`, '-D', `${this.dir}/data`, '-w', '-m', 'fast', 'stop']);
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped: nothing to do
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Invariants

export interface CheckInput {
  id: string;
  workflowId: string;
  prefix: string;
  db: Db;
  sim: DialnexaSimulator;
  /** The workflow's leads before the teardown; the archive must hold exactly these ids. */
  leadIds?: string[];
  expectStatus?: string;
}

export interface CheckOutcome {
  status: string;
  step: string;
  archiveVerified: boolean;
  deletes200: number;
  /** DELETEs DialNexa performed, answered 200 or with the answer lost. */
  deletesPerformed: number;
  deletesSent: number;
  cancelsSent: number;
  auditTypes: string[];
  violations: string[];
}

const ONE_SHOT = [
  'teardown.requested',
  'archive.exported',
  'workflow.cancelled',
  'archive.finalized',
  'workflow.deleted',
  'teardown.completed',
];

export function s3Client(): S3Client {
  const s3 = s3Settings();
  return new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function readVersion(s3: S3Client, key: string, versionId?: string | null): Promise<Buffer> {
  const out = await s3.send(
    new GetObjectCommand({ Bucket: s3Settings().bucket, Key: key, VersionId: versionId ?? undefined }),
  );
  return Buffer.from(await out.Body!.transformToByteArray());
}

function records(
  bytes: Buffer,
  contentType: string,
): { count: number; items: Array<Record<string, unknown>> } {
  if (contentType === 'application/gzip') {
    const items = gunzipSync(bytes)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { count: items.length, items };
  }
  const value = JSON.parse(bytes.toString('utf8')) as unknown;
  return Array.isArray(value)
    ? { count: value.length, items: value as Array<Record<string, unknown>> }
    : { count: 1, items: [value as Record<string, unknown>] };
}

/**
 * Everything that must hold once a teardown ended, whatever happened to it on the way. Returns
 * the violations (empty when all holds) rather than throwing, so a campaign can count them.
 */
export async function checkTeardown(input: CheckInput): Promise<CheckOutcome> {
  const { id, workflowId, db, sim } = input;
  const violations: string[] = [];
  const row = await db.row(id);
  const status = String(row?.['status'] ?? 'missing');
  const step = String(row?.['step'] ?? '');
  if (!TERMINAL.includes(status)) violations.push(`not terminal: ${status}/${step}`);
  if (input.expectStatus && status !== input.expectStatus)
    violations.push(
      `status ${status} (error ${row?.['error_code']}: ${row?.['error_message']}), expected ${input.expectStatus}`,
    );

  // --- the audit trail: no duplicates, in order, failures answered by retries
  const events = await db.events(id);
  const types = events.map((e) => e.type);
  for (const type of ONE_SHOT) {
    const n = types.filter((t) => t === type).length;
    if (n > 1) violations.push(`audit: ${type} ${n} times`);
  }
  const order = ONE_SHOT.map((t) => types.indexOf(t)).filter((i) => i >= 0);
  if (order.some((i, k) => k > 0 && i < order[k - 1]!))
    violations.push(`audit out of order: ${types.join(',')}`);
  if (types[0] !== 'teardown.requested') violations.push(`audit does not start with teardown.requested`);
  types.forEach((t, i) => {
    if (t === 'teardown.failed' && i < types.length - 1 && types[i + 1] !== 'teardown.retried')
      violations.push(`audit: teardown.failed followed by ${types[i + 1]}`);
  });
  if (status === 'completed') {
    for (const t of ['archive.exported', 'workflow.cancelled', 'workflow.deleted', 'teardown.completed'])
      if (!types.includes(t)) violations.push(`audit gap: completed without ${t}`);
    if (types[types.length - 1] !== 'teardown.completed')
      violations.push(`audit: last event ${types.at(-1)}`);
  }
  if (status === 'failed' && types[types.length - 1] !== 'teardown.failed')
    violations.push(`audit: failed teardown ends with ${types.at(-1)}`);

  // --- the upstream: nothing changed before archive.exported was committed; at most one DELETE 200
  const exported = events.find((e) => e.type === 'archive.exported');
  const mine = sim.requests.filter(
    (r) => r.path === `/v1/workflows/${workflowId}` || r.path.startsWith(`/v1/workflows/${workflowId}/`),
  );
  const mutations = mine.filter(
    (r) => r.method === 'DELETE' || (r.method === 'POST' && r.path.endsWith('/cancel')),
  );
  for (const m of mutations) {
    if (!exported || m.at < new Date(exported.at).getTime())
      violations.push(`${m.method} ${m.path} sent before archive.exported was committed`);
  }
  const deletes200 = mine.filter((r) => r.method === 'DELETE' && r.performed && r.status === 200).length;
  if (deletes200 > 1) violations.push(`${deletes200} DELETEs performed with 200`);
  const deletesPerformed = mine.filter(
    (r) => r.method === 'DELETE' && r.performed && (r.status === 200 || r.status === 0),
  ).length;
  if (deletesPerformed > 1) violations.push(`${deletesPerformed} DELETEs performed`);
  if (status === 'completed' && sim.exists(workflowId))
    violations.push('completed but the workflow still exists');
  if (status !== 'completed' && deletes200 > 0)
    violations.push(`${status} but DialNexa deleted the workflow`);

  // --- the archive: exactly one manifest version, every object matching it
  let archiveVerified: boolean;
  const s3 = s3Client();
  try {
    const dir = `${input.prefix}${workflowId}/${id}/`;
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: s3Settings().bucket, Prefix: dir }));
    const versions = listed.Versions ?? [];
    const manifests = versions.filter((v) => v.Key === `${dir}manifest.json`);
    const finals = versions.filter((v) => v.Key === `${dir}final/manifest.json`);
    if (exported && manifests.length !== 1) violations.push(`${manifests.length} versions of manifest.json`);
    if (finals.length > 1) violations.push(`${finals.length} versions of final/manifest.json`);
    if (exported && !types.includes('archive.finalized') && finals.length > 0)
      violations.push('a final/manifest.json exists without archive.finalized');
    let problems = 0;
    for (const m of [...manifests, ...finals]) {
      const manifest = JSON.parse((await readVersion(s3, m.Key!, m.VersionId)).toString('utf8')) as {
        teardownId: string;
        objects: Array<{
          key: string;
          bytes: number;
          sha256: string;
          records: number;
          contentType: string;
          versionId: string | null;
        }>;
      };
      if (manifest.teardownId !== id) violations.push(`${m.Key}: teardownId ${manifest.teardownId}`);
      for (const object of manifest.objects) {
        const bytes = await readVersion(s3, object.key, object.versionId);
        const sha = createHash('sha256').update(bytes).digest('hex');
        const { count, items } = records(bytes, object.contentType);
        if (bytes.length !== object.bytes || sha !== object.sha256 || count !== object.records) {
          problems++;
          violations.push(`${object.key}: does not match ${m.Key}`);
        }
        if (m === manifests[0] && object.key.endsWith('/leads.ndjson.gz') && input.leadIds) {
          const ids = items.map((l) => String(l['id']));
          if (new Set(ids).size !== ids.length) violations.push(`leads.ndjson.gz lists a lead twice`);
          const want = new Set(input.leadIds);
          const missing = input.leadIds.filter((l) => !ids.includes(l)).length;
          const extra = ids.filter((l) => !want.has(l)).length;
          if (missing || extra)
            violations.push(`leads.ndjson.gz: ${missing} leads missing, ${extra} unexpected`);
        }
      }
    }
    // Whatever the row says, the recorded manifest must be the one that is stored.
    const archive = row?.['archive'] as { manifestVersionId?: string } | null;
    if (exported && archive && manifests[0] && archive.manifestVersionId !== manifests[0].VersionId)
      violations.push('the teardown names another manifest version than the stored one');
    archiveVerified = manifests.length === 1 && problems === 0;
  } finally {
    s3.destroy();
  }
  if (exported && !archiveVerified && !violations.some((v) => v.includes('manifest')))
    violations.push('archive not verified');

  return {
    status,
    step,
    archiveVerified,
    deletes200,
    deletesPerformed,
    deletesSent: mutations.filter((r) => r.method === 'DELETE').length,
    cancelsSent: mutations.filter((r) => r.method === 'POST').length,
    auditTypes: types,
    violations,
  };
}

/** The chain of audit events as the service itself verifies it. */
export async function auditChainOk(serviceUrl: string): Promise<string | null> {
  const answer = await api(serviceUrl).call('GET', '/v1/audit/verify', undefined, KEYS.auditor);
  return answer.status === 200 && answer.body['ok'] === true
    ? null
    : `audit chain: ${JSON.stringify(answer.body)}`;
}

export function leadIdsOf(sim: DialnexaSimulator, workflowId: string): string[] {
  return (sim.snapshot(workflowId)?.leads ?? []).map((l) => String(l['id']));
}

// ---------------------------------------------------------------------------------------------
// Reporting

export interface ScenarioStats {
  scenario: string;
  started: number;
  completed: number;
  failedRetryably: number;
  archivesVerified: number;
  deletes200: number;
  violations: string[];
  seconds: number;
}

export class Campaign {
  readonly rows: ScenarioStats[] = [];

  add(
    scenario: string,
    outcomes: CheckOutcome[],
    startedAt: number,
    extraViolations: string[] = [],
    failedRetryably = 0,
  ): ScenarioStats {
    const stats: ScenarioStats = {
      scenario,
      started: outcomes.length,
      completed: outcomes.filter((o) => o.status === 'completed').length,
      failedRetryably,
      archivesVerified: outcomes.filter((o) => o.archiveVerified).length,
      deletes200: outcomes.reduce((n, o) => n + o.deletes200, 0),
      violations: [...outcomes.flatMap((o) => o.violations), ...extraViolations],
      seconds: Math.round((Date.now() - startedAt) / 100) / 10,
    };
    this.rows.push(stats);
    const file = process.env['CHAOS_REPORT_FILE'];
    if (file) appendFileSync(file, `${JSON.stringify(stats)}\n`);
    return stats;
  }

  static table(rows: ScenarioStats[]): string {
    const head = [
      'scenario',
      'started',
      'completed',
      'failed-retryably',
      'verified',
      'DELETE 200',
      'violations',
      's',
    ];
    const body = rows.map((r) => [
      r.scenario,
      String(r.started),
      String(r.completed),
      String(r.failedRetryably),
      String(r.archivesVerified),
      String(r.deletes200),
      String(r.violations.length),
      String(r.seconds),
    ]);
    return formatTable(head, body) + violationsText(rows);
  }
}

function violationsText(rows: ScenarioStats[]): string {
  const lines = rows.flatMap((r) => r.violations.map((v) => `  ! ${r.scenario}: ${v}`));
  return lines.length ? `\nviolations:\n${lines.join('\n')}\n` : '';
}

export function formatTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)].join('\n') + '\n';
}
