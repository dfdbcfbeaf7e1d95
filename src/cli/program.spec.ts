import { describe, expect, it } from '@jest/globals';
import { EXIT } from './cli.error.js';
import { runCli } from './program.js';

const TEARDOWN_ID = 'td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M';
const ENV = {
  DIALNEXA_TEARDOWN_URL: 'http://teardown.test:3000',
  DIALNEXA_TEARDOWN_API_KEY: 'cli-test-key-0001',
};

function teardown(overrides: Record<string, unknown> = {}, progress: Record<string, unknown> = {}) {
  return {
    id: TEARDOWN_ID,
    workflowId: 'wfl_m3v7zb9rk2px',
    status: 'queued',
    dryRun: false,
    includeLeadHistory: false,
    reason: 'GDPR erasure',
    ticket: 'PRIV-1042',
    requestedBy: 'billing-team',
    approvalsRequired: 0,
    approvals: [],
    attempt: 1,
    createdAt: '2024-05-01T09:00:00.000Z',
    updatedAt: '2024-05-01T09:00:00.000Z',
    completedAt: null,
    progress: { step: 'export', leadsExported: 0, leadsTotal: null, ...progress },
    archive: null,
    error: null,
    ...overrides,
  };
}

interface Answer {
  status: number;
  body: unknown;
}

/** A CLI run against a fake API: each request takes the next answer; what was sent is recorded. */
async function run(args: string[], answers: Answer[] = [], env: Record<string, string> = ENV) {
  const requests: Request[] = [];
  let stdout = '';
  let stderr = '';
  const fakeFetch = (async (input: Request | string | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    requests.push(request);
    const answer = answers.shift();
    if (!answer) throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof fetch;
  const code = await runCli(args, {
    env,
    fetch: fakeFetch,
    sleep: async () => {},
    streams: {
      stdout: { write: (text: string) => ((stdout += text), true) } as unknown as NodeJS.WritableStream,
      stderr: { write: (text: string) => ((stderr += text), true) } as unknown as NodeJS.WritableStream,
    },
  });
  return { code, stdout, stderr, requests };
}

describe('dialnexa-teardown CLI', () => {
  describe('usage', () => {
    it('prints its help, with the environment and exit codes, and succeeds', async () => {
      const sut = await run(['--help']);

      expect(sut.code).toBe(EXIT.OK);
      expect(sut.stdout).toContain('DIALNEXA_TEARDOWN_API_KEY');
      expect(sut.stdout).toContain('Exit codes');
    });

    it.each([
      [['status']],
      [['request', 'wfl_1']],
      [['frobnicate']],
      [['list', '--status', 'sleeping']],
      [['watch', TEARDOWN_ID, '--interval', 'soon']],
      [['list', '--limit', '0']],
      [['holds', 'list', '--active', '--lifted']],
      [['archive', 'get', TEARDOWN_ID]],
    ])('%j is a usage error (exit 2), and nothing is sent', async (args) => {
      const sut = await run(args);

      expect(sut.code).toBe(EXIT.USAGE);
      expect(sut.stderr).not.toBe('');
      expect(sut.requests).toHaveLength(0);
    });

    it('refuses to run without an API key (exit 2) and names the variable', async () => {
      const sut = await run(['status', TEARDOWN_ID], [], {});

      expect(sut.code).toBe(EXIT.USAGE);
      expect(sut.stderr).toContain('CLI_CONFIG_INVALID');
      expect(sut.stderr).toContain('DIALNEXA_TEARDOWN_API_KEY');
    });
  });

  describe('request', () => {
    it('sends the body, the Idempotency-Key and the API key, and prints the teardown', async () => {
      const sut = await run(
        [
          'request',
          'wfl_m3v7zb9rk2px',
          '--reason',
          'GDPR erasure',
          '--ticket',
          'PRIV-1042',
          '--dry-run',
          '--idempotency-key',
          'PRIV-1042',
        ],
        [{ status: 202, body: teardown({ dryRun: true }) }],
      );

      expect(sut.code).toBe(EXIT.OK);
      const [request] = sut.requests;
      expect(request!.method).toBe('POST');
      expect(request!.url).toBe('http://teardown.test:3000/v1/teardowns');
      expect(request!.headers.get('authorization')).toBe('Bearer cli-test-key-0001');
      expect(request!.headers.get('idempotency-key')).toBe('PRIV-1042');
      await expect(request!.json()).resolves.toEqual({
        workflowId: 'wfl_m3v7zb9rk2px',
        reason: 'GDPR erasure',
        ticket: 'PRIV-1042',
        dryRun: true,
      });
      expect(sut.stdout).toContain(`${TEARDOWN_ID}  wfl_m3v7zb9rk2px  queued (dry run)`);
    });

    it("prints the API's code and message and fails (exit 1) when the API refuses", async () => {
      const refusal = {
        statusCode: 409,
        error: 'Conflict',
        code: 'TEARDOWN_IN_PROGRESS',
        message: 'workflow wfl_m3v7zb9rk2px already has an unfinished teardown',
        details: { teardownId: TEARDOWN_ID },
      };

      const sut = await run(
        ['request', 'wfl_m3v7zb9rk2px', '--reason', 'GDPR erasure'],
        [{ status: 409, body: refusal }],
      );

      expect(sut.code).toBe(EXIT.FAILURE);
      expect(sut.stderr).toContain(
        'error TEARDOWN_IN_PROGRESS: workflow wfl_m3v7zb9rk2px already has an unfinished teardown',
      );
      expect(sut.stderr).toContain(`teardownId: ${TEARDOWN_ID}`);
    });

    it("treats the API's VALIDATION_FAILED as a usage error (exit 2), naming each field", async () => {
      const refusal = {
        statusCode: 400,
        error: 'Bad Request',
        code: 'VALIDATION_FAILED',
        message: 'the request is not valid',
        details: { fields: [{ field: 'reason', message: 'must be 3-2000 characters' }] },
      };

      const sut = await run(['request', 'wfl_1', '--reason', 'no'], [{ status: 400, body: refusal }]);

      expect(sut.code).toBe(EXIT.USAGE);
      expect(sut.stderr).toContain('reason: must be 3-2000 characters');
    });

    it('with --wait follows the teardown to its end and succeeds when it completed', async () => {
      const sut = await run(
        ['request', 'wfl_m3v7zb9rk2px', '--reason', 'GDPR erasure', '--wait'],
        [
          { status: 202, body: teardown() },
          { status: 200, body: teardown({ status: 'exporting' }, { leadsExported: 100, leadsTotal: 420 }) },
          {
            status: 200,
            body: teardown({ status: 'deleting' }, { step: 'delete', leadsExported: 420, leadsTotal: 420 }),
          },
          {
            status: 200,
            body: teardown({ status: 'completed' }, { step: 'delete', leadsExported: 420, leadsTotal: 420 }),
          },
        ],
      );

      expect(sut.code).toBe(EXIT.OK);
      expect(sut.stdout).toContain('exporting  step export  100/420 leads exported');
      expect(sut.stdout).toContain('completed  step delete  420/420 leads exported');
    });
  });

  describe('watch', () => {
    it('fails (exit 1) when the teardown ends failed, and shows its error', async () => {
      const failed = teardown(
        {
          status: 'failed',
          error: {
            code: 'DELETE_SETTLE_TIMEOUT',
            message: 'leads still in transit',
            step: 'delete',
            retryable: true,
          },
        },
        { step: 'delete', leadsExported: 420, leadsTotal: 420 },
      );

      const sut = await run(['watch', TEARDOWN_ID], [{ status: 200, body: failed }]);

      expect(sut.code).toBe(EXIT.FAILURE);
      expect(sut.stdout).toContain(
        'error DELETE_SETTLE_TIMEOUT in step delete (retryable): leads still in transit',
      );
    });

    it('keeps polling through a restart of the service (no answer, 503)', async () => {
      const sut = await run(
        ['watch', TEARDOWN_ID],
        [
          { status: 200, body: teardown({ status: 'exporting' }) },
          {
            status: 503,
            body: { statusCode: 503, code: 'DEPENDENCY_UNAVAILABLE', message: 'database', details: {} },
          },
          { status: 200, body: teardown({ status: 'completed' }, { step: 'delete' }) },
        ],
      );

      expect(sut.code).toBe(EXIT.OK);
    });

    it('with --json prints one JSON line per change', async () => {
      const sut = await run(
        ['--json', 'watch', TEARDOWN_ID],
        [
          { status: 200, body: teardown({ status: 'exporting' }) },
          { status: 200, body: teardown({ status: 'exporting', updatedAt: '2024-05-01T09:00:01.000Z' }) },
          { status: 200, body: teardown({ status: 'completed' }, { step: 'delete' }) },
        ],
      );

      expect(sut.code).toBe(EXIT.OK);
      const lines = sut.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { status: string });
      expect(lines.map((l) => l.status)).toEqual(['exporting', 'completed']);
    });
  });

  describe('status', () => {
    it('prints the resource as served with --json (also after the command)', async () => {
      const body = teardown({ status: 'completed' });

      const sut = await run(['status', TEARDOWN_ID, '--json'], [{ status: 200, body }]);

      expect(sut.code).toBe(EXIT.OK);
      expect(JSON.parse(sut.stdout)).toEqual(body);
      expect(sut.requests[0]!.url).toBe(`http://teardown.test:3000/v1/teardowns/${TEARDOWN_ID}`);
    });

    it('escapes control characters of text from the API on a terminal', async () => {
      const sut = await run(
        ['status', TEARDOWN_ID],
        [{ status: 200, body: teardown({ reason: 'x\u001b[2Jy' }) }],
      );

      expect(sut.stdout).toContain('reason: x\\u001b[2Jy');
      expect(sut.stdout).not.toContain('\u001b');
    });

    it('reports a service that does not answer (exit 1)', async () => {
      const sut = await run(['status', TEARDOWN_ID], []);

      expect(sut.code).toBe(EXIT.FAILURE);
      expect(sut.stderr).toContain('SERVICE_UNREACHABLE');
    });
  });

  describe('audit verify', () => {
    const anchors = { checked: 1, latest: null, unanchoredEvents: 0, lagSeconds: 0, lastFailure: null };

    it('succeeds when the chain verifies', async () => {
      const sut = await run(
        ['audit', 'verify'],
        [{ status: 200, body: { ok: true, events: 12, head: 'f'.repeat(64), anchors } }],
      );

      expect(sut.code).toBe(EXIT.OK);
      expect(sut.stdout).toContain('audit chain OK: 12 events');
    });

    it('fails (exit 1) when it does not, naming the first bad event', async () => {
      const report = {
        ok: false,
        events: 12,
        firstBad: { seq: 7, id: null, reason: 'hash differs' },
        anchors,
      };

      const sut = await run(['audit', 'verify'], [{ status: 200, body: report }]);

      expect(sut.code).toBe(EXIT.FAILURE);
      expect(sut.stdout).toContain('FAILED verification at event 7');
    });
  });

  describe('holds', () => {
    it('lists only holds in force with --active', async () => {
      const sut = await run(
        ['holds', 'list', '--active', '--workflow', 'wfl_1'],
        [{ status: 200, body: { data: [], nextCursor: null } }],
      );

      expect(sut.code).toBe(EXIT.OK);
      expect(new URL(sut.requests[0]!.url).search).toBe('?workflowId=wfl_1&active=true');
    });
  });

  describe('restore', () => {
    const RESTORE_ID = 'rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M';
    const count = (done: number, total: number | null) => ({ done, total });
    const restore = (overrides: Record<string, unknown> = {}) => ({
      id: RESTORE_ID,
      teardownId: TEARDOWN_ID,
      sourceWorkflowId: 'wfl_m3v7zb9rk2px',
      status: 'queued',
      snapshot: 'final',
      dryRun: false,
      reason: 'deleted by mistake',
      requestedBy: 'ops-admin',
      excludeLeadStatuses: ['removed'],
      newWorkflowId: null,
      progress: {
        workflow: count(0, 1),
        nodes: count(0, null),
        edges: count(0, null),
        leads: count(0, null),
        leadFiles: count(0, null),
        upstreamRequests: 0,
        requestsTotal: null,
        secondsAtCurrentRate: null,
      },
      idMap: { workflow: {}, nodes: {}, edges: {}, leads: {} },
      idMapKey: null,
      notRestored: [],
      error: null,
      createdAt: '2024-05-01T09:00:00.000Z',
      updatedAt: '2024-05-01T09:00:00.000Z',
      completedAt: null,
      ...overrides,
    });

    it('starts a restore with the statuses to exclude and an Idempotency-Key', async () => {
      const sut = await run(
        [
          'restore',
          'start',
          TEARDOWN_ID,
          '--reason',
          'deleted by mistake',
          '--exclude-status',
          'removed',
          'failed',
          '--snapshot',
          'export',
          '--idempotency-key',
          'k-1',
        ],
        [{ status: 202, body: restore() }],
      );

      expect(sut.code).toBe(EXIT.OK);
      const sent = sut.requests[0]!;
      expect(new URL(sent.url).pathname).toBe('/v1/restores');
      expect(sent.headers.get('idempotency-key')).toBe('k-1');
      await expect(sent.json()).resolves.toEqual({
        teardownId: TEARDOWN_ID,
        reason: 'deleted by mistake',
        snapshot: 'export',
        excludeLeadStatuses: ['removed', 'failed'],
      });
      expect(sut.stdout).toContain(`${RESTORE_ID} queued`);
    });

    it('get --watch polls until the restore ends, and fails when it failed', async () => {
      const failed = restore({
        status: 'failed',
        error: {
          code: 'ARCHIVE_VERIFICATION_FAILED',
          message: 'the archive does not match',
          retryable: false,
          details: {},
        },
      });
      const sut = await run(
        ['restore', 'get', RESTORE_ID, '--watch'],
        [
          { status: 200, body: restore({ status: 'verifying' }) },
          { status: 200, body: failed },
        ],
      );

      expect(sut.code).toBe(EXIT.FAILURE);
      expect(sut.stdout).toContain('verifying');
      expect(sut.stdout).toContain('error ARCHIVE_VERIFICATION_FAILED');
    });

    it("lists a teardown's restores", async () => {
      const done = restore({ status: 'completed', newWorkflowId: 'wfl_new' });
      const sut = await run(
        ['restore', 'list', '--teardown', TEARDOWN_ID],
        [{ status: 200, body: { data: [done] } }],
      );

      expect(sut.code).toBe(EXIT.OK);
      expect(new URL(sut.requests[0]!.url).search).toBe(`?teardownId=${TEARDOWN_ID}`);
      expect(sut.stdout).toContain(`${RESTORE_ID} completed`);
    });
  });
});
