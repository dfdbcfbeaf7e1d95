import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { archiveDescriptionSchema } from '../../src/archive/archive.dto.js';
import {
  api,
  DialnexaSimulator,
  KEYS,
  resetDatabase,
  type RunningService,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';
import { OPENAPI_JSON } from '../support/openapi-codegen.js';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The admin CLI as an operator runs it: the built `dist/cli/main.js` as a subprocess (not a
 * terminal, so progress comes as plain lines), against the whole service, the DialNexa simulator,
 * PostgreSQL and S3. Also `/docs`, which the CLI's typed client is generated from.
 */
describe('dialnexa-teardown CLI (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let work: string;

  const cli = (args: string[], key: string = KEYS.requester): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['dist/cli/main.js', ...args], {
        env: {
          PATH: process.env['PATH'] ?? '',
          DIALNEXA_TEARDOWN_URL: service.url,
          DIALNEXA_TEARDOWN_API_KEY: key,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 300, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url));
    work = await mkdtemp(path.join(tmpdir(), 'dialnexa-teardown-cli-'));
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('request --wait shows the progress of a teardown to its end and exits 0', async () => {
    const workflowId = sim.addWorkflow({ nodes: 5, edges: 6, leads: 420 });

    const sut = await cli([
      'request',
      workflowId,
      '--reason',
      'GDPR erasure, ticket PRIV-1042',
      '--ticket',
      'PRIV-1042',
      '--wait',
      '--interval',
      '50',
    ]);

    expect({ code: sut.code, stderr: sut.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = sut.stdout.split('\n');
    expect(lines[0]).toMatch(/^requested teardown td_[0-9A-Z]{26} of /);
    // one plain line per change, each stamped, each with status, step and leads
    const progress = lines.filter((line) => /^\[\d{4}-\d\d-\d\dT[^\]]+\] td_/.test(line));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    // the total is `?` while the service has not recorded DialNexa's count (on main its last
    // progress write can come before the count is known: teardown.e2e-spec sees it too)
    expect(progress.at(-1)).toMatch(
      / completed {2}step delete {2}420\/(420|\?) leads exported {2}\d+ requests$/,
    );
    expect(sut.stdout).toContain('archive: s3://');
  });

  it('watch follows a teardown requested elsewhere; --json prints one teardown per line', async () => {
    const workflowId = sim.addWorkflow({ nodes: 2, edges: 1, leads: 150 });
    const created = await api(service.url).create({ workflowId, reason: 'decommissioned campaign' });
    const id = String(created.body['id']);

    const human = await cli(['watch', id, '--interval', '50']);
    const json = await cli(['--json', 'watch', id]);

    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/completed {2}step delete {2}150\/(150|\?) leads exported/);
    expect(json.code).toBe(0);
    const last = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
    expect(last).toMatchObject({
      id,
      status: 'completed',
      progress: { leadsExported: 150 },
    });
  });

  it("prints the API's code and exits 1 when refused; exits 2 on a usage error", async () => {
    const missing = await cli(['status', 'td_00000000000000000000000000']);
    const forbidden = await cli(['audit', 'verify'], KEYS.requester);
    const usage = await cli(['request', 'wfl_x']);

    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error TEARDOWN_NOT_FOUND:');
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('error FORBIDDEN:');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--reason <text>' not specified");
  });

  it('places, lists and lifts a legal hold, and verifies the audit chain', async () => {
    const workflowId = sim.addWorkflow({ nodes: 1, edges: 0, leads: 1 });

    const placed = await cli(
      ['--json', 'holds', 'place', workflowId, '--reason', 'litigation hold LIT-7'],
      KEYS.admin,
    );
    const holdId = (JSON.parse(placed.stdout) as { id: string }).id;
    const refused = await cli(['request', workflowId, '--reason', 'GDPR erasure']);
    const listed = await cli(['holds', 'list', '--active', '--workflow', workflowId], KEYS.auditor);
    const lifted = await cli(['holds', 'lift', holdId], KEYS.admin);
    const verified = await cli(['audit', 'verify'], KEYS.auditor);

    expect(placed.code).toBe(0);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('error WORKFLOW_ON_HOLD:') });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${holdId}  ${workflowId}`);
    expect(lifted).toMatchObject({ code: 0, stdout: expect.stringContaining(`lifted: ${holdId}`) });
    expect(verified).toMatchObject({ code: 0, stdout: expect.stringContaining('audit chain OK') });
  });

  it('archive get downloads an archive and verifies it; a corrupted copy fails verification', async () => {
    const workflowId = sim.addWorkflow({ nodes: 3, edges: 2, leads: 200 });
    const created = await api(service.url).create({ workflowId, reason: 'archive check' });
    const id = String(created.body['id']);
    const teardown = await api(service.url).waitForEnd(id);
    expect(teardown['status']).toBe('completed');
    const description = await api(service.url).call('GET', `/v1/teardowns/${id}/archive`, {
      key: KEYS.auditor,
    });
    expect(archiveDescriptionSchema.safeParse(description.body).error).toBeUndefined();
    const out = path.join(work, 'archive');

    const sut = await cli(['archive', 'get', id, '--out', out], KEYS.auditor);

    expect({ code: sut.code, stderr: sut.stderr }).toEqual({ code: 0, stderr: '' });
    // the export and the snapshot after the cancel, each with its manifest
    expect(teardown['archive']['final']).not.toBeNull();
    expect(sut.stdout).toContain(`archive of ${id} verified: 2 manifest(s) and 8 objects match`);
    expect(sut.stdout).toMatch(/^ok {3}manifest\.json {2}sha256 [0-9a-f]{64} as the service recorded$/m);
    expect(sut.stdout).toMatch(
      /^ok {3}final\/manifest\.json {2}sha256 [0-9a-f]{64} as the service recorded$/m,
    );
    expect(sut.stdout).toMatch(/^ok {3}final\/leads\.ndjson\.gz {2}\d+ B, 200 records$/m);
    expect(sut.stdout).toMatch(/ok {3}leads\.ndjson\.gz {2}\d+ B, 200 records/);
    const trail = await cli(['audit', 'trail', id], KEYS.auditor);
    expect(trail.code).toBe(0);
    expect(trail.stdout).toMatch(/^#\d+ \S+ teardown\.requested +by team-a +hash [0-9a-f]{16}…$/m);
    expect(trail.stdout).toMatch(/ workflow\.deleted +by system /);
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as {
      teardownId: string;
    };
    expect(manifest.teardownId).toBe(id);

    // the copy verifies as downloaded; one flipped byte, or a dropped element, fails it
    const sha256 = String(teardown['archive']['manifestSha256']);
    const finalSha256 = String(teardown['archive']['final']['manifestSha256']);
    const intact = await cli(['archive', 'verify', out, '--sha256', sha256, '--final-sha256', finalSha256]);
    const wrongFinal = await cli(['archive', 'verify', out, '--final-sha256', sha256]);
    const corrupted = path.join(work, 'corrupted');
    await cp(out, corrupted, { recursive: true });
    const leads = await readFile(path.join(corrupted, 'leads.ndjson.gz'));
    leads[Math.floor(leads.length / 2)]! ^= 0xff;
    await writeFile(path.join(corrupted, 'leads.ndjson.gz'), leads);
    const nodes = JSON.parse(await readFile(path.join(corrupted, 'nodes.json'), 'utf8')) as unknown[];
    await writeFile(path.join(corrupted, 'nodes.json'), JSON.stringify(nodes.slice(1)));
    const failed = await cli(['archive', 'verify', corrupted, '--sha256', sha256]);
    const json = await cli(['--json', 'archive', 'verify', corrupted]);

    expect(intact.code).toBe(0);
    expect(wrongFinal.code).toBe(1);
    expect(wrongFinal.stdout).toMatch(
      /^BAD {2}final\/manifest\.json {2}SHA-256 is [0-9a-f]{64}, the service recorded /m,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/BAD {2}leads\.ndjson\.gz .*SHA-256 is [0-9a-f]{64}, the manifest says/);
    expect(failed.stdout).toMatch(/BAD {2}nodes\.json .*2 records, the manifest says 3/);
    expect(failed.stdout).toContain(`archive of ${id} FAILED verification`);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      objects: Array<{ file: string; problems: string[] }>;
    };
    expect(report.ok).toBe(false);
    expect(
      report.objects
        .filter((o) => o.problems.length > 0)
        .map((o) => o.file)
        .sort(),
    ).toEqual(['leads.ndjson.gz', 'nodes.json']);
  });

  it('serves the OpenAPI document at /docs/openapi.json, as committed, and a browsable /docs without a CDN', async () => {
    const committed = JSON.parse(await readFile(OPENAPI_JSON, 'utf8')) as unknown;

    const document = await fetch(`${service.url}/docs/openapi.json`);
    const page = await fetch(`${service.url}/docs`);
    const html = await page.text();
    const scripts = [...html.matchAll(/<script[^>]*src=["']([^"']+)["']/g)].map((m) => m[1]!);
    // resolved as a browser resolves them on the page /docs
    const bundle = await fetch(
      new URL(
        scripts.find((s) => s.includes('swagger-ui-bundle'))!,
        `${service.url}/docs`,
      ),
    );

    expect(document.status).toBe(200);
    expect(await document.json()).toEqual(committed);
    expect(page.status).toBe(200);
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter((src) => /^(https?:)?\/\//.test(src))).toEqual([]);
    expect(bundle.status).toBe(200);
  });

  it('answers hostile paths under /docs like any unknown route, never with a 5xx', async () => {
    const paths = [
      '/docs/%ED%A0%80',
      '/docs/%00',
      '/docs/..%2F..%2Fpackage.json',
      '/docs/nothing-here.js',
      `/docs/${'a'.repeat(5000)}`,
    ];

    const sut = await Promise.all(
      paths.map(async (p) => {
        const answer = await fetch(`${service.url}${p}`);
        const body = (await answer.json().catch(() => null)) as { code?: string } | null;
        return { path: p.slice(0, 40), status: answer.status, code: body?.code };
      }),
    );

    expect(sut).toEqual(paths.map((p) => ({ path: p.slice(0, 40), status: 404, code: 'ROUTE_NOT_FOUND' })));
  });
});
