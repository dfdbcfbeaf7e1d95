import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import {
  api,
  DialnexaSimulator,
  freePort,
  KEYS,
  resetDatabase,
  type RunningService,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';
import { parsePrometheusText, type Sample, sumOf } from '../support/prometheus-text.js';

const P = 'dialnexa_teardown_';

/** Every string value under a key naming a phone number, anywhere in `value`. */
function phoneNumbers(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const item of value) phoneNumbers(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (/phone/i.test(key) && typeof inner === 'string') found.add(inner);
      else phoneNumbers(inner, found);
    }
  }
  return found;
}

/** Holds the shutdown in BeforeApplicationShutdown (where the worker drains) until released. */
@Injectable()
class ShutdownLatch implements BeforeApplicationShutdown {
  static reached: () => void = () => undefined;
  static readonly held = new Promise<void>((resolve) => (ShutdownLatch.reached = resolve));
  static release: () => void = () => undefined;
  static readonly released = new Promise<void>((resolve) => (ShutdownLatch.release = resolve));

  async beforeApplicationShutdown(): Promise<void> {
    ShutdownLatch.reached();
    await ShutdownLatch.released;
  }
}

/**
 * Metrics, logs and health of the running service: a teardown is run end to end, then /metrics is
 * scraped and parsed and its counters compared with what happened, and the captured log lines
 * are read for the access log, the teardown id on every line of the run, and redaction.
 */
describe('observability (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;
  const lines: string[] = [];
  const logLines = (): Array<Record<string, unknown>> =>
    lines
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const scrape = async (): Promise<Sample[]> => {
    const response = await fetch(`${service.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return parsePrometheusText(await response.text());
  };

  beforeAll(async () => {
    // the first service of this file sets the logger of every later one (nestjs-pino keeps one root)
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
    sim = new DialnexaSimulator({ settleMs: 300, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url, { LOG_LEVEL: 'debug', DELETE_SETTLE_TIMEOUT_S: '10' }));
    client = api(service.url);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
    jest.restoreAllMocks();
  });

  describe('after one teardown', () => {
    let teardownId: string;
    let workflowId: string;
    const requestId = 'obs-e2e-request-1';
    const leads = 230;
    let done: Record<string, unknown> = {};
    let phones = new Set<string>();

    beforeAll(async () => {
      workflowId = sim.addWorkflow({ nodes: 3, edges: 2, leads });
      phones = phoneNumbers(sim.snapshot(workflowId)!.leads);
      sim.clearRequests();
      const created = await client.create(
        { workflowId, reason: 'observability e2e' },
        { key: KEYS.requester, idempotencyKey: 'obs-1' },
      );
      if (created.status !== 202) throw new Error(`POST answered ${created.status}`);
      teardownId = String(created.body['id']);
      // a request id of our own on a second call, to find its access line
      await client.call('GET', `/v1/teardowns/${teardownId}`, { headers: { 'x-request-id': requestId } });
      done = await client.waitForEnd(teardownId);
    });

    it('completes', () => {
      expect(done).toMatchObject({ status: 'completed', progress: { leadsExported: leads } });
    });

    it('counts in /metrics what happened', async () => {
      const samples = await scrape();
      const deletes = sim.requests.filter((r) => r.method === 'DELETE').length;
      const cancels = sim.requests.filter((r) => r.method === 'POST').length;
      expect({
        leadsExported: sumOf(samples, `${P}leads_exported_total`, { snapshot: 'export' }),
        completed: sumOf(samples, `${P}teardowns_ended_total`, { status: 'completed' }),
        failed: sumOf(samples, `${P}teardowns_ended_total`, { status: 'failed' }),
        completedInDb: sumOf(samples, `${P}teardowns`, { status: 'completed' }),
        queuedInDb: sumOf(samples, `${P}teardowns`, { status: 'queued' }),
        deletes: sumOf(samples, `${P}upstream_requests_total`, {
          endpoint: 'workflow.delete',
          method: 'DELETE',
        }),
        cancels: sumOf(samples, `${P}upstream_requests_total`, {
          endpoint: 'workflow.cancel',
          method: 'POST',
        }),
        leadPages: sumOf(samples, `${P}upstream_requests_total`, { endpoint: 'leads.list', status: '200' }),
      }).toEqual({
        leadsExported: leads,
        completed: 1,
        failed: 0,
        completedInDb: 1,
        queuedInDb: 0,
        deletes,
        cancels,
        leadPages: sim.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/leads')).length,
      });
      expect(deletes).toBe(1);
      expect(cancels).toBe(1);
      // every upstream request of the run is counted, by endpoint template (no workflow id in a label)
      expect(sumOf(samples, `${P}upstream_requests_total`)).toBeGreaterThanOrEqual(sim.requests.length);
      expect(samples.some((s) => Object.values(s.labels).some((v) => v.includes(workflowId)))).toBe(false);
      // each step once, ok
      for (const step of ['export', 'verify', 'audit', 'cancel', 'settle', 'finalize', 'delete']) {
        expect([step, sumOf(samples, `${P}step_duration_seconds_count`, { step, outcome: 'ok' })]).toEqual([
          step,
          1,
        ]);
      }
      expect(sumOf(samples, `${P}archive_bytes_total`, { snapshot: 'export' })).toBeGreaterThan(0);
      // HTTP by route template, never the raw path
      expect(
        sumOf(samples, `${P}http_request_duration_seconds_count`, {
          method: 'GET',
          route: '/v1/teardowns/:id',
          status: '200',
        }),
      ).toBeGreaterThan(1);
      expect(samples.some((s) => s.labels['route']?.includes(teardownId))).toBe(false);
      // read at scrape: the audit chain, its anchoring, the queue; and the default process metrics
      expect(sumOf(samples, `${P}audit_chain_head_seq`)).toBeGreaterThanOrEqual(5);
      expect(samples.some((s) => s.name === `${P}audit_anchor_lag_seconds`)).toBe(true);
      expect(samples.some((s) => s.name === `${P}queue_jobs` && s.labels['state'] === 'queued')).toBe(true);
      expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
      expect(sumOf(samples, `${P}scrape_source_errors_total`)).toBe(0);
    });

    it('reports the result of the latest chain verification', async () => {
      await expect(client.call('GET', '/v1/audit/verify', { key: KEYS.auditor })).resolves.toMatchObject({
        status: 200,
        body: { ok: true },
      });
      expect(sumOf(await scrape(), `${P}audit_chain_verified`)).toBe(1);
    });

    it('logs one access line per request, with its request id and caller, never its key', () => {
      const access = logLines().filter((l) => l['requestId'] === requestId && l['route'] !== undefined);
      expect(access).toEqual([
        expect.objectContaining({
          level: 'info',
          msg: 'GET /v1/teardowns/:id 200',
          method: 'GET',
          route: '/v1/teardowns/:id',
          path: `/v1/teardowns/${teardownId}`,
          status: 200,
          caller: 'team-a',
          durationMs: expect.any(Number),
        }),
      ]);
      expect(typeof access[0]!['time']).toBe('string');
      const log = lines.join('');
      for (const key of Object.values(KEYS)) expect(log).not.toContain(key);
    });

    it("binds the teardown id and the creating request's id to every line of its run", () => {
      const post = logLines().find(
        (l) => l['msg'] === 'POST /v1/teardowns 202' && typeof l['requestId'] === 'string',
      );
      expect(post).toBeDefined();
      const run = logLines().filter(
        (l) => typeof l['msg'] === 'string' && l['msg'].includes(`teardown ${teardownId}`),
      );
      expect(run.length).toBeGreaterThan(5); // each step's line, and its end
      expect(run.filter((l) => l['teardownId'] !== teardownId)).toEqual([]);
      expect(run.filter((l) => l['requestId'] !== post!['requestId'])).toEqual([]);
      // the DialNexa client's lines of the run carry them too, though they never name the teardown
      const upstream = logLines().filter(
        (l) => l['context'] === 'DialnexaClient' && String(l['msg']).includes(`/v1/workflows/${workflowId}`),
      );
      expect(upstream.length).toBeGreaterThan(0);
      expect(upstream.filter((l) => l['teardownId'] !== teardownId)).toEqual([]);
    });

    it('never logs a lead phone number', () => {
      expect(phones.size).toBeGreaterThan(100);
      const log = lines.join('');
      const leaked = [...phones].filter(
        (phone) => log.includes(phone) || log.includes(phone.replace(/\D/g, '')),
      );
      expect(leaked).toEqual([]);
    });
  });

  it('logs and times a request refused before routing (413), under no route', async () => {
    const refused = await client.call('POST', '/v1/teardowns', {
      rawBody: JSON.stringify({ reason: 'x'.repeat(100_000) }),
      headers: { 'x-request-id': 'obs-e2e-too-large' },
    });
    expect(refused.status).toBe(413);
    expect(logLines().filter((l) => l['requestId'] === 'obs-e2e-too-large' && l['status'] === 413)).toEqual([
      expect.objectContaining({ msg: 'POST (unmatched) 413', route: '(unmatched)', path: '/v1/teardowns' }),
    ]);
    const samples = await scrape();
    expect(
      sumOf(samples, `${P}http_request_duration_seconds_count`, { route: '(unmatched)', status: '413' }),
    ).toBe(1);
  });

  describe('/readyz', () => {
    it('is ready without a key, naming every check without their reasons', async () => {
      const ready = await client.call('GET', '/readyz', { key: null });
      expect(ready).toMatchObject({
        status: 200,
        body: {
          status: 'ready',
          checks: { database: { ok: true }, bucket: { ok: true }, upstream: { ok: true } },
        },
      });
    });

    it('sends no probe upstream while DialNexa answered recently', async () => {
      await client.call('GET', '/readyz', { key: null });
      sim.clearRequests();
      for (let i = 0; i < 5; i++) await client.call('GET', '/readyz', { key: null });
      expect(sim.requests.filter((r) => r.path.includes('readyz-probe'))).toEqual([]);
    });

    it('refuses an unknown key (a key, when sent, is checked)', async () => {
      const answer = await client.call('GET', '/readyz', { key: 'not-a-key-of-anyone-1234' });
      expect(answer).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    });
  });

  describe('/readyz of a service whose upstream is down, then shutting down', () => {
    let broken: RunningService & { app: { close(): Promise<void> } };
    let closed = false;

    beforeAll(async () => {
      const closedPort = await freePort(); // nothing listens there
      broken = await startService(
        serviceEnv(`http://127.0.0.1:${closedPort}`, { RUNNER_ENABLED: 'false', LOG_LEVEL: 'debug' }),
        {
          providers: [ShutdownLatch],
        },
      );
    });

    afterAll(async () => {
      ShutdownLatch.release();
      if (!closed) await broken?.stop();
    });

    it('names only the failing check to an anonymous caller, and says why to an admin', async () => {
      const anonymous = await api(broken.url).call('GET', '/readyz', { key: null });
      expect(anonymous.status).toBe(503);
      expect(anonymous.body).toMatchObject({
        status: 'not_ready',
        checks: { database: { ok: true }, bucket: { ok: true }, upstream: { ok: false } },
      });
      expect(JSON.stringify(anonymous.body)).not.toContain('reason');
      const admin = await api(broken.url).call('GET', '/readyz', { key: KEYS.admin });
      expect(admin.status).toBe(503);
      expect(admin.body).toMatchObject({ checks: { upstream: { ok: false, reason: expect.any(String) } } });
      const requester = await api(broken.url).call('GET', '/readyz', { key: KEYS.requester });
      expect(JSON.stringify(requester.body)).not.toContain('reason');
      // the reason is in the log
      expect(logLines().some((l) => String(l['msg']).startsWith('readiness check upstream failed:'))).toBe(
        true,
      );
    });

    it('answers 503 from the moment shutdown begins, while the server still serves', async () => {
      const closing = broken.app.close();
      await ShutdownLatch.held;
      const during = await api(broken.url).call('GET', '/readyz', { key: null });
      expect(during).toMatchObject({
        status: 503,
        body: { status: 'not_ready', checks: { shutdown: { ok: false } } },
      });
      await expect(api(broken.url).call('GET', '/healthz', { key: null })).resolves.toMatchObject({
        status: 200,
      });
      ShutdownLatch.release();
      await closing;
      closed = true;
    });
  });
});
