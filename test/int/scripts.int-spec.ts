/**
 * The scripts that set up and tear down the tests' and the demo's world leave the host alone:
 * scripts/ensure-postgres.sh uses a role of its own and prints no password but in the URL it
 * hands over; scripts/lib/children.sh (test.sh's and demo.sh's long steps) stops everything a
 * step started when the script is killed.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

async function rolesOtherThan(client: pg.Client, role: string): Promise<unknown[]> {
  const { rows } = await client.query(
    `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolvaliduntil
       FROM pg_roles WHERE rolname <> $1 ORDER BY rolname`,
    [role],
  );
  return rows;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

describe('scripts/ensure-postgres.sh', () => {
  const database = `ensure_pg_${randomBytes(4).toString('hex')}_test`;
  let url = '';

  afterAll(async () => {
    if (url === '') return;
    const client = new pg.Client({ connectionString: url.replace(`/${database}`, '/postgres') });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await client.end();
  });

  it('creates the database for a role of its own, changes no other role, and prints no password', async () => {
    const admin = new pg.Client({ connectionString: process.env['DATABASE_URL'] });
    await admin.connect();
    const before = await rolesOtherThan(admin, 'dialnexa_teardown');

    const { stdout, stderr } = await run(
      'bash',
      ['scripts/ensure-postgres.sh', 'createdb', database, '--fresh'],
      {
        cwd: root,
      },
    );
    url = stdout.trim();
    const parsed = new URL(url);
    expect(parsed.username).toBe('dialnexa_teardown');
    expect(parsed.pathname).toBe(`/${database}`);
    expect(parsed.password).toMatch(/^[0-9a-f]{40}$/);
    expect(stderr).not.toContain(parsed.password);
    expect(stdout.split('\n').filter((line) => line.includes(parsed.password))).toEqual([url]);

    expect(await rolesOtherThan(admin, 'dialnexa_teardown')).toEqual(before);
    const own = await admin.query<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      `SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'dialnexa_teardown'`,
    );
    expect(own.rows).toEqual([{ rolsuper: false, rolcreaterole: false, rolcreatedb: false }]);
    await admin.end();

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ user: string; owner: string }>(
      `SELECT current_user AS user, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()`,
    );
    await client.end();
    expect(rows).toEqual([{ user: 'dialnexa_teardown', owner: 'dialnexa_teardown' }]);
  });
});

describe('scripts/lib/children.sh', () => {
  it('stops the step it runs, and what the step started, when the script gets SIGTERM', async () => {
    // a script shaped like test.sh: traps, then a long step that starts processes of its own
    const script = `
      set -euo pipefail
      . scripts/lib/children.sh
      cleanup() { local rc=$?; stop_child; exit "$rc"; }
      trap cleanup EXIT
      trap 'exit 143' TERM
      step() { sleep 300 & echo "grandchild $!"; sleep 300 & echo "grandchild $!"; wait; }
      run_child step
    `;
    const child = spawn('bash', ['-c', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const pids: number[] = [];
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        pids.splice(0, pids.length, ...[...out.matchAll(/grandchild (\d+)/g)].map((m) => Number(m[1])));
        if (pids.length === 2) resolve();
      });
    });
    expect(pids.every(alive)).toBe(true);

    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    await expect(exited).resolves.toBe(143);
    expect(pids.filter(alive)).toEqual([]);
  });
});
