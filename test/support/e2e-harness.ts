import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { AppModule } from '../../src/app.module.js';
import { JsonLogger } from '../../src/common/json-logger.js';
import { loadConfig, type AppConfig } from '../../src/config/app.config.js';
import { configureApp } from '../../src/http.js';
import { DEFAULT_API_KEY, DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';

/** The callers every end-to-end test can use, one per role plus a second requester. */
export const KEYS = {
  requester: 'e2e-requester-key-000001',
  otherRequester: 'e2e-other-requester-key-01',
  approver: 'e2e-approver-key-0000001',
  auditor: 'e2e-auditor-key-00000001',
  admin: 'e2e-admin-key-0000000001',
} as const;

const API_KEYS = JSON.stringify([
  { name: 'team-a', key: KEYS.requester, roles: ['requester'] },
  { name: 'team-b', key: KEYS.otherRequester, roles: ['requester'] },
  { name: 'approver-1', key: KEYS.approver, roles: ['approver'] },
  { name: 'compliance-audit', key: KEYS.auditor, roles: ['auditor'] },
  { name: 'ops-admin', key: KEYS.admin, roles: ['admin'] },
]);

export function databaseUrl(): string {
  const url = process.env['DATABASE_URL'];
  if (!url) throw new Error('DATABASE_URL is not set: run the tests through `npm test`');
  if (!new URL(url).pathname.includes('test')) {
    throw new Error(
      `refusing to run against ${new URL(url).pathname}: the database name must contain "test"`,
    );
  }
  return url;
}

/** The service's environment for a test: the S3 store and database from `npm test`, fast timings. */
export function serviceEnv(
  simulatorUrl: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl(),
    DIALNEXA_BASE_URL: simulatorUrl,
    DIALNEXA_API_KEY: DEFAULT_API_KEY,
    DIALNEXA_RETRY_BASE_MS: '20',
    DIALNEXA_RETRY_MAX_MS: '200',
    S3_BUCKET: process.env['S3_BUCKET'] ?? '',
    S3_ENDPOINT: process.env['S3_ENDPOINT'] ?? '',
    S3_REGION: process.env['S3_REGION'] ?? 'us-east-1',
    S3_FORCE_PATH_STYLE: process.env['S3_FORCE_PATH_STYLE'] ?? 'true',
    AWS_ACCESS_KEY_ID: process.env['AWS_ACCESS_KEY_ID'] ?? '',
    AWS_SECRET_ACCESS_KEY: process.env['AWS_SECRET_ACCESS_KEY'] ?? '',
    ARCHIVE_PREFIX: `e2e-${randomBytes(4).toString('hex')}/`,
    ARCHIVE_LOCK_MODE: 'GOVERNANCE',
    ARCHIVE_RETENTION_DAYS: '1',
    API_KEYS,
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'error',
    DELETE_BACKOFF_BASE_MS: '100',
    DELETE_BACKOFF_MAX_MS: '400',
    RUNNER_STEP_BACKOFF_MS: '50',
    RUNNER_LEASE_SECONDS: '5',
    RUNNER_SWEEP_INTERVAL_S: '1',
    ...overrides,
  };
  return env;
}

export async function resetDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    await client.query('ALTER TABLE audit_event DISABLE TRIGGER USER');
    await client.query('TRUNCATE audit_event, teardown, idempotency_record');
    await client.query('ALTER TABLE audit_event ENABLE TRIGGER USER');
    const boss = await client.query(
      `SELECT 1 FROM information_schema.tables WHERE table_schema = 'pgboss' AND table_name = 'job'`,
    );
    if (boss.rowCount) await client.query('DELETE FROM pgboss.job');
  } finally {
    await client.end();
  }
}

/** Runs a query on the test database (for assertions about what was committed when). */
export async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export interface RunningService {
  url: string;
  config: AppConfig;
  stop(): Promise<void>;
}

/** The whole service in this process, as main.ts builds it, on a free port. */
export async function startService(env: Record<string, string>): Promise<RunningService> {
  const config = loadConfig(env);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    logger: new JsonLogger(config.logLevel),
  });
  configureApp(app, config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, config, stop: () => app.close() };
}

/** The built service (`dist/main.js`) as a separate process, so a test can kill it. */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  output = '';

  constructor(
    private readonly env: Record<string, string>,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['dist/main.js'], {
      env: { PATH: process.env['PATH'] ?? '', ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child = child;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}:\n${this.output}`);
      const ok = await fetch(`${this.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`service did not start:\n${this.output}`);
  }

  kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A small HTTP client for the service's REST API. */
export function api(baseUrl: string) {
  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { key?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiAnswer<T>> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key !== null) headers['authorization'] = `Bearer ${options.key ?? KEYS.requester}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : null) as T,
      headers: response.headers,
    };
  };
  return {
    call,
    create: (body: Record<string, unknown>, options: { key?: string; idempotencyKey?: string } = {}) =>
      call('POST', '/v1/teardowns', {
        key: options.key,
        body,
        headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {},
      }),
    get: (id: string, key: string = KEYS.requester) => call('GET', `/v1/teardowns/${id}`, { key }),
    /** Polls until the teardown reaches a terminal status (or the timeout). */
    async waitForEnd(id: string, timeoutMs = 60_000): Promise<Record<string, any>> {
      const deadline = Date.now() + timeoutMs;
      let last: Record<string, any> = {};
      while (Date.now() < deadline) {
        const answer = await call('GET', `/v1/teardowns/${id}`, { key: KEYS.admin });
        last = answer.body;
        if (['completed', 'failed', 'aborted', 'rejected'].includes(String(last['status']))) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`teardown ${id} did not finish in ${timeoutMs} ms: ${JSON.stringify(last)}`);
    },
  };
}

export function s3(): S3Client {
  return new S3Client({
    region: process.env['S3_REGION'] ?? 'us-east-1',
    endpoint: process.env['S3_ENDPOINT'],
    forcePathStyle: true,
    credentials: {
      accessKeyId: process.env['AWS_ACCESS_KEY_ID'] ?? '',
      secretAccessKey: process.env['AWS_SECRET_ACCESS_KEY'] ?? '',
    },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function readObject(key: string, versionId?: string): Promise<Buffer> {
  const out = await s3().send(
    new GetObjectCommand({ Bucket: process.env['S3_BUCKET'], Key: key, VersionId: versionId ?? undefined }),
  );
  return Buffer.from(await out.Body!.transformToByteArray());
}

export async function objectExists(key: string): Promise<boolean> {
  try {
    await s3().send(new HeadObjectCommand({ Bucket: process.env['S3_BUCKET'], Key: key }));
    return true;
  } catch {
    return false; // HeadObject answers 404 without a body: any failure here means "not there"
  }
}

export function parseNdjsonGz(bytes: Buffer): Record<string, unknown>[] {
  return gunzipSync(bytes)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export { DialnexaSimulator };
