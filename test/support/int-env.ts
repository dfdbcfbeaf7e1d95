/**
 * Shared set-up of the integration tier: the real PostgreSQL (DATABASE_URL) and the real S3 store
 * (S3_* and AWS_* variables), both exported by scripts/test.sh before jest starts.
 *
 * Integration tests empty tables, so they refuse any database whose name lacks `test`: a
 * DATABASE_URL left pointing at a real database must fail the run, not wipe it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type AppConfig, loadConfig } from '../../src/config/app.config.js';
import { databaseUrl, emptyTables } from './test-services.ts';

/** Checked on import: no test file gets as far as connecting to a database that is not a test one. */
export const TEST_DATABASE_URL = databaseUrl();

/**
 * Key prefix for this run's archive objects. The bucket is versioned and may be locked, so tests
 * never delete what they wrote: unique keys keep runs (and tests) from seeing each other's objects.
 */
export const RUN_PREFIX = `it-${randomBytes(5).toString('hex')}/`;

export const TEST_API_KEYS = JSON.stringify([{ name: 't', key: 't-key-000000000000', roles: ['admin'] }]);

/** The service's configuration as the test run's environment gives it, with `overrides` on top. */
export function buildConfig(overrides: Record<string, string | undefined> = {}): AppConfig {
  return loadConfig({
    // the database-only suites need no S3 store, but the configuration requires a bucket name
    S3_BUCKET: 'int-test-unused',
    ...process.env,
    DATABASE_URL: TEST_DATABASE_URL,
    DIALNEXA_API_KEY: 'x',
    API_KEYS: TEST_API_KEYS,
    ARCHIVE_PREFIX: RUN_PREFIX,
    ...overrides,
  });
}

/** Whether the environment names a real S3 store (the archive suite needs one). */
export function requireS3(): void {
  const missing = ['S3_ENDPOINT', 'S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter(
    (v) => !process.env[v],
  );
  if (missing.length > 0) {
    throw new Error(
      `the archive integration tests need ${missing.join(', ')} (scripts/test.sh exports them)`,
    );
  }
}

/**
 * A superuser connection beside the service's Prisma client: for resetting tables and for what
 * the service must never do itself (tampering with the audit trail, ageing rows).
 */
export class IntDatabase {
  private readonly pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 3 });

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params: unknown[] = [],
  ): Promise<R[]> {
    return (await this.pool.query<R>(text, params)).rows;
  }

  /** Runs `fn` in one transaction, so that a trigger disabled inside it can never stay disabled. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  /** Empties every table the tests write. audit_event refuses TRUNCATE unless its triggers are off. */
  async reset(): Promise<void> {
    await this.transaction((client) => emptyTables(client));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Held by a database-using suite from beforeAll to afterAll. Suites share one database and empty
 * it before each test, so they must not run at once: jest ignores `maxWorkers` in a project
 * configuration and may run int files in parallel workers, so the database serialises them.
 */
export const SUITE_LOCK_TIMEOUT_MS = 180_000;

export class SuiteLock {
  private constructor(private readonly client: pg.Client) {}

  static async acquire(): Promise<SuiteLock> {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`SELECT pg_advisory_lock(hashtextextended('dialnexa-teardown:int-suite', 0))`);
    return new SuiteLock(client);
  }

  /** Closing the session releases the lock, whatever happened in between. */
  async release(): Promise<void> {
    await this.client.end();
  }
}

let shared: IntDatabase | undefined;

/** The per-file superuser connection (closed by `closeDatabase` in afterAll). */
export function database(): IntDatabase {
  shared ??= new IntDatabase();
  return shared;
}

export async function resetDatabase(): Promise<void> {
  await database().reset();
}

export async function closeDatabase(): Promise<void> {
  await shared?.close();
  shared = undefined;
}
