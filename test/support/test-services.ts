/**
 * What every tier of tests shares about the services it runs against: the test database and its
 * clean-up, free ports, the service's environment, and the built service as a child process.
 *
 * Erasable TypeScript without imports from src/, so the chaos harness can use it as well as the
 * e2e harness.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import type pg from 'pg';
import { DEFAULT_API_KEY } from '../simulator/dialnexa-simulator.ts';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** DATABASE_URL, refused unless the database's name contains "test" (tests empty its tables). */
export function databaseUrl(): string {
  const url = process.env['DATABASE_URL'];
  if (!url) throw new Error('DATABASE_URL is not set: run the tests through `npm test` (or `npm run chaos`)');
  if (!new URL(url).pathname.includes('test')) {
    throw new Error(
      `refusing to run against ${new URL(url).pathname}: the database name must contain "test"`,
    );
  }
  return url;
}

/**
 * Empties every table the service writes, so each suite starts clean. audit_event refuses
 * TRUNCATE while its triggers are on; the caller should run this in a transaction.
 */
export async function emptyTables(client: pg.ClientBase): Promise<void> {
  await client.query('TRUNCATE teardown, idempotency_record, approval, legal_hold');
  const sessions = await client.query(
    `SELECT 1 FROM information_schema.tables WHERE table_name = 'console_session'`,
  );
  if (sessions.rowCount) await client.query('TRUNCATE console_session');
  const budget = await client.query(
    `SELECT 1 FROM information_schema.tables WHERE table_name = 'rate_budget'`,
  );
  if (budget.rowCount) await client.query('TRUNCATE rate_budget');
  const parts = await client.query(
    `SELECT 1 FROM information_schema.tables WHERE table_name = 'leads_upload_part'`,
  );
  if (parts.rowCount) await client.query('TRUNCATE leads_upload_part');
  const restores = await client.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'restore'`);
  if (restores.rowCount) await client.query('TRUNCATE restore, restore_item');
  await client.query('ALTER TABLE audit_event DISABLE TRIGGER USER');
  await client.query('TRUNCATE audit_event');
  await client.query('ALTER TABLE audit_event ENABLE TRIGGER USER');
  const boss = await client.query(
    `SELECT 1 FROM information_schema.tables WHERE table_schema = 'pgboss' AND table_name = 'job'`,
  );
  if (boss.rowCount) await client.query('DELETE FROM pgboss.job');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The Ed25519 key the services of this test run sign deletion receipts with: made here, for this
 * run only (no private key is ever committed). Tests sign with it too, to forge receipts the key
 * vouches for but the chain does not.
 */
export const RECEIPT_TEST_KEY = (() => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
})();

/**
 * The service's environment for tests: the database and S3 store that `npm test` started, the
 * simulator upstream, Object Lock on, and timings short enough for tests.
 */
export function serviceEnvFor(
  simulatorUrl: string,
  settings: { apiKeys: string; archivePrefix: string; logLevel: string },
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl(),
    DIALNEXA_BASE_URL: simulatorUrl,
    DIALNEXA_API_KEY: DEFAULT_API_KEY,
    DIALNEXA_RETRY_BASE_MS: '20',
    DIALNEXA_RETRY_MAX_MS: '200',
    S3_BUCKET: process.env['S3_BUCKET'] ?? '',
    S3_ENDPOINT: process.env['S3_ENDPOINT'] ?? '',
    S3_REGION: process.env['S3_REGION'] ?? 'us-east-1',
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: process.env['AWS_ACCESS_KEY_ID'] ?? '',
    AWS_SECRET_ACCESS_KEY: process.env['AWS_SECRET_ACCESS_KEY'] ?? '',
    ARCHIVE_PREFIX: settings.archivePrefix,
    ARCHIVE_LOCK_MODE: 'GOVERNANCE',
    ARCHIVE_RETENTION_DAYS: '1',
    API_KEYS: settings.apiKeys,
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: settings.logLevel,
    DELETE_BACKOFF_BASE_MS: '100',
    DELETE_BACKOFF_MAX_MS: '400',
    RUNNER_STEP_BACKOFF_MS: '50',
    RUNNER_SWEEP_INTERVAL_S: '1',
    RECEIPT_SIGNING_KEY: RECEIPT_TEST_KEY.privatePem,
    ...overrides,
  };
}

/**
 * The Node flags the service ships with: package.json's `config.nodeOptions`, which `npm start`
 * (and so the container) passes to node. Every test and the bench start dist/main.js with them,
 * so they exercise and measure the process as production runs it. Read from the working directory,
 * like dist/main.js.
 */
export function shippedNodeOptions(): string {
  const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { config?: { nodeOptions?: string } };
  return manifest.config?.nodeOptions ?? '';
}

/** The built service (dist/main.js) as a child process that a test can SIGKILL, SIGSTOP and SIGCONT. */
export class ServiceProcess {
  readonly env: Record<string, string>;
  readonly name: string;
  port = 0;
  output = '';
  /** Called with every chunk the process writes (stdout and stderr), for callers that read whole logs. */
  onOutput: ((chunk: string) => void) | undefined;
  private child: ChildProcess | null = null;

  constructor(env: Record<string, string>, name = 'service') {
    this.env = env;
    this.name = name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The process id while it runs (for /proc/<pid>/status and /proc/<pid>/stat). */
  get pid(): number | undefined {
    return this.alive ? this.child?.pid : undefined;
  }

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(port?: number): Promise<this> {
    this.port = port ?? (await freePort());
    const child = spawn(process.execPath, ['dist/main.js'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        ...this.env,
        // the shipped flags first: a flag the caller adds (the bench's experiments) comes later and wins
        NODE_OPTIONS: `${shippedNodeOptions()} ${this.env['NODE_OPTIONS'] ?? ''}`.trim(),
        PORT: String(this.port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output = (this.output + text).slice(-200_000);
      this.onOutput?.(text);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`${this.name} exited with ${child.exitCode}:\n${this.output}`);
      const ok = await fetch(`${this.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return this;
      await sleep(50);
    }
    throw new Error(`${this.name} did not start:\n${this.output}`);
  }

  /** SIGKILL, synchronously sent: the process gets no chance to run another instruction. */
  killNow(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    return exited;
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGTERM (graceful shutdown), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    child.kill('SIGCONT');
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
