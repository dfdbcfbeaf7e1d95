import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Logger } from 'nestjs-pino';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { AppModule } from '../../src/app.module.js';
import { loadConfig, type AppConfig } from '../../src/config/app.config.js';
import { configureApp } from '../../src/http.js';
import { createRootLogger } from '../../src/ops/logging.js';
import { DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';
import {
  databaseUrl,
  emptyTables,
  freePort,
  RECEIPT_TEST_KEY,
  serviceEnvFor,
  ServiceProcess,
} from './test-services.ts';

export { databaseUrl, freePort, RECEIPT_TEST_KEY, ServiceProcess };

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

/** The service's environment for a test: the S3 store and database from `npm test`, fast timings. */
export function serviceEnv(
  simulatorUrl: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return serviceEnvFor(
    simulatorUrl,
    {
      apiKeys: API_KEYS,
      archivePrefix: `e2e-${randomBytes(4).toString('hex')}/`,
      logLevel: process.env['E2E_LOG_LEVEL'] ?? 'error',
    },
    { RUNNER_LEASE_SECONDS: '5', ...overrides },
  );
}

export async function resetDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    await client.query('BEGIN');
    await emptyTables(client);
    await client.query('COMMIT');
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
/**
 * The whole service in this process, as main.ts builds it, on a free port. Its log lines go to
 * `process.stdout.write` (synchronously, so a test can capture them by spying on it). nestjs-pino
 * keeps one root logger per process: the first service a test file starts sets the level and
 * destination of every later one.
 */
export async function startService(
  env: Record<string, string>,
  options: { providers?: Provider[] } = {},
): Promise<RunningService & { app: NestExpressApplication }> {
  const config = loadConfig(env);
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(config, createRootLogger(config, process.stdout))],
    providers: options.providers ?? [],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  configureApp(app, config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, config, app, stop: () => app.close() };
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
