import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';

/** Any constant will do, as long as every replica uses the same one. */
const MIGRATION_LOCK_KEY = 0x6d6967726174n; // "migrat"

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * Applies pending migrations with Prisma's own `migrate deploy`, under a PostgreSQL advisory lock
 * so that replicas starting together apply them once, one after the other.
 */
export async function applyMigrations(databaseUrl: string, log: (line: string) => void): Promise<void> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: 'dialnexa-teardown-migrate',
  });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    log('applying pending database migrations');
    await runPrisma(['migrate', 'deploy'], databaseUrl, log);
  } finally {
    await client
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()])
      .catch(() => undefined);
    await client.end();
  }
}

function runPrisma(args: string[], databaseUrl: string, log: (line: string) => void): Promise<void> {
  const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      for (const line of output.split('\n').filter((l) => l.trim() !== '')) log(`prisma: ${line.trim()}`);
      if (code === 0) resolve();
      else reject(new Error(`prisma ${args.join(' ')} exited with ${code}`));
    });
  });
}
