import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import {
  api,
  DialnexaSimulator,
  KEYS,
  query,
  resetDatabase,
  type RunningService,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';

/**
 * Text that PostgreSQL cannot store as it is (U+0000, lone surrogates), from callers and from
 * DialNexa: caller input is refused with 400 naming the field and nothing is written; an id in a
 * path that names nothing is 404 whatever its form; upstream text is stored, made storable, so a
 * failure is always recorded. Never a 5xx.
 */

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One request with its path sent exactly as given: fetch would normalise `..` and `%2e`. */
function send(
  baseUrl: string,
  method: string,
  path: string,
  options: { key?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: {
          authorization: `Bearer ${options.key ?? KEYS.admin}`,
          ...(options.body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
          } catch (error) {
            reject(new Error(`${method} ${path}: not JSON (${res.statusCode}): ${text}`, { cause: error }));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Bytes on the wire as given (node:http refuses a NUL or non-ASCII in a header value). */
function sendRaw(port: number, head: Buffer, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const bodyAt = text.indexOf('\r\n\r\n');
      if (!status || bodyAt < 0) return reject(new Error(`no HTTP answer: ${text}`));
      resolve({
        status: Number(status[1]),
        body: JSON.parse(text.slice(bodyAt + 4)) as Record<string, unknown>,
      });
    });
    // no half-close: `Connection: close` has the server close once it has answered
    socket.write(Buffer.concat([head, Buffer.from(body, 'utf8')]));
  });
}

function fieldsOf(answer: Answer): string[] {
  const details = answer.body['details'] as { fields?: Array<{ field: string }> } | undefined;
  return (details?.fields ?? []).map((f) => f.field);
}

/** What a caller can put in a JSON string that PostgreSQL cannot store as sent. */
const UNSTORABLE = {
  'U+0000': 'GDPR erasure \u0000 PRIV-1042',
  'a lone high surrogate': 'GDPR erasure \ud83d PRIV-1042',
  'a lone low surrogate': 'GDPR erasure \ude00 PRIV-1042',
  'a reversed pair': 'GDPR erasure \ude00\ud83d PRIV-1042',
};
const UNSTORABLE_CASES = Object.entries(UNSTORABLE);
/** The same in a query string: `%00`, and the UTF-8-like bytes of a lone surrogate (invalid UTF-8). */
const UNSTORABLE_QUERY = ['%00', 'wfl%00x', '%ED%A0%80', 'x%ED%B8%80', '%C0%80'];

describe('text that PostgreSQL cannot store (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;
  /** A teardown awaiting approval (APPROVALS_REQUIRED=1), so a valid comment would be taken. */
  let awaiting: string;

  const counts = async () =>
    (
      await query<{ teardowns: string; events: string; holds: string; approvals: string; keys: string }>(
        `SELECT (SELECT count(*) FROM teardown) AS teardowns, (SELECT count(*) FROM audit_event) AS events,
                (SELECT count(*) FROM legal_hold) AS holds, (SELECT count(*) FROM approval) AS approvals,
                (SELECT count(*) FROM idempotency_record) AS keys`,
      )
    )[0]!;

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 0, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(
      serviceEnv(sim.url, {
        APPROVALS_REQUIRED: '1',
        API_RATE_LIMIT_PER_MINUTE: '1000000',
        API_RATE_LIMIT_BURST: '1000000',
      }),
    );
    client = api(service.url);
    const created = await client.create({ workflowId: sim.addWorkflow({ leads: 3 }), reason: 'fixture' });
    if (created.status !== 202) throw new Error(`fixture: ${JSON.stringify(created.body)}`);
    awaiting = String(created.body['id']);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
  });

  describe('caller input', () => {
    let before: Awaited<ReturnType<typeof counts>>;
    beforeEach(async () => {
      before = await counts();
    });
    /** Called last by each test: no teardown, hold, approval, key or audit event was written. */
    async function expectNothingWritten(): Promise<void> {
      await expect(counts()).resolves.toEqual(before);
      await expect(client.get(awaiting, KEYS.admin)).resolves.toMatchObject({
        body: { status: 'awaiting_approval', approvals: [] },
      });
    }

    const validTeardown = { workflowId: 'wfl_text_input', reason: 'GDPR erasure', ticket: 'PRIV-1042' };
    const bodyCases: Array<[string, string, string, Record<string, unknown>]> = [];
    for (const [what, text] of UNSTORABLE_CASES) {
      for (const field of ['workflowId', 'reason', 'ticket'] as const) {
        bodyCases.push([what, 'POST /v1/teardowns', field, { ...validTeardown, [field]: text }]);
      }
      bodyCases.push([what, 'POST /v1/teardowns', 'dryRun', { ...validTeardown, dryRun: text }]);
      bodyCases.push([
        what,
        'POST /v1/teardowns',
        'includeLeadHistory',
        { ...validTeardown, includeLeadHistory: text },
      ]);
      bodyCases.push([what, 'POST /v1/teardowns', '(body)', { ...validTeardown, [text]: 1 }]);
      bodyCases.push([what, 'POST /v1/holds', 'workflowId', { workflowId: text, reason: 'litigation' }]);
      bodyCases.push([what, 'POST /v1/holds', 'reason', { workflowId: 'wfl_text_input', reason: text }]);
      bodyCases.push([what, 'POST /v1/teardowns/:id/approve', 'comment', { comment: text }]);
      bodyCases.push([what, 'POST /v1/teardowns/:id/reject', 'comment', { comment: text }]);
    }

    it.each(bodyCases)('refuses %s in %s %s with 400 naming it', async (_, route, field, body) => {
      const [method, template] = route.split(' ') as [string, string];
      const path = template.replace(':id', awaiting);
      // JSON.stringify escapes NUL as \u0000 and a lone surrogate as \ud83d: the body is valid JSON
      const answer = await send(service.url, method, path, { body: JSON.stringify(body) });
      expect({ status: answer.status, code: answer.body['code'] }).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect(fieldsOf(answer)).toContain(field);
      // the refusal itself is well-formed text
      expect(JSON.stringify(answer.body).isWellFormed()).toBe(true);
      await expectNothingWritten();
    });

    it.each([
      ['GET /v1/teardowns', ['workflowId', 'status', 'limit', 'cursor']],
      ['GET /v1/holds', ['workflowId', 'active', 'limit', 'cursor']],
      ['GET /v1/audit', ['workflowId', 'teardownId', 'type', 'limit', 'cursor']],
    ])(
      'refuses U+0000 and invalid UTF-8 in every query parameter of %s with 400 naming it',
      async (route, fields) => {
        const path = route.split(' ')[1]!;
        for (const field of fields) {
          for (const value of UNSTORABLE_QUERY) {
            const answer = await send(service.url, 'GET', `${path}?${field}=${value}`);
            expect({ field, value, status: answer.status, code: answer.body['code'] }).toEqual({
              field,
              value,
              status: 400,
              code: 'VALIDATION_FAILED',
            });
            expect(fieldsOf(answer)).toContain(field);
          }
        }
        // an unknown parameter whose name holds them
        for (const value of UNSTORABLE_QUERY) {
          const answer = await send(service.url, 'GET', `${path}?${value}=1`);
          expect({ value, status: answer.status }).toEqual({ value, status: 400 });
        }
        await expectNothingWritten();
      },
    );

    /** A POST /v1/teardowns whose Idempotency-Key is `key`, byte for byte. */
    function createWithKey(key: Buffer, body: string): Promise<Answer> {
      const line = (text: string) => Buffer.from(`${text}\r\n`, 'latin1');
      const head = Buffer.concat([
        line('POST /v1/teardowns HTTP/1.1'),
        line('Host: 127.0.0.1'),
        line('Connection: close'),
        line(`Authorization: Bearer ${KEYS.requester}`),
        line('Content-Type: application/json'),
        line(`Content-Length: ${Buffer.byteLength(body)}`),
        Buffer.from('Idempotency-Key: ', 'latin1'),
        key,
        line(''),
        line(''),
      ]);
      return sendRaw(Number(new URL(service.url).port), head, body);
    }

    it.each([
      ['the UTF-8-like bytes of a lone surrogate', Buffer.from([0x6b, 0xed, 0xa0, 0x80])],
      ['UTF-8 Cyrillic', Buffer.from('ключ', 'utf8')],
      ['a lone 0xFF byte', Buffer.from([0x6b, 0xff])],
    ])('refuses an Idempotency-Key holding %s with 400 naming it', async (_, key) => {
      const body = JSON.stringify({ ...validTeardown, workflowId: sim.addWorkflow({ leads: 1 }) });
      const answer = await createWithKey(key, body);
      expect({ status: answer.status, code: answer.body['code'] }).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect(fieldsOf(answer)).toContain('Idempotency-Key');
      await expectNothingWritten();
    });

    it('refuses an Idempotency-Key holding U+0000 with 400 naming it', async () => {
      const answer = await createWithKey(Buffer.from('key\u0000x', 'latin1'), JSON.stringify(validTeardown));
      expect(answer).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
      expect(fieldsOf(answer)).toContain('Idempotency-Key');
      await expectNothingWritten();
    });
  });

  describe('ids in paths that name nothing', () => {
    const IDS = [
      '%00',
      'td_%00',
      'td_01JDXXXXXXXXXXXXXXXXXXXXXX%00',
      '%ED%A0%80',
      'td_%ED%A0%80',
      '%F0%9F%98%80',
      '%',
      '%zz',
      '%E0%A4%A',
      '..',
      '.',
      '%2e%2e',
      'a%2Fb',
      '%2F..%2F..%2Fetc%2Fpasswd',
      'x'.repeat(10_000),
      `td_${'0'.repeat(10_000)}`,
      'td_01jdxxxxxxxxxxxxxxxxxxxxxx',
      'hold_01M8HN8YSXYEQGS38GD8VWBB7E',
      '%3Cscript%3E',
      "'%20OR%201=1--",
    ];
    const TEARDOWN_ROUTES: Array<[string, (id: string) => string]> = [
      ['GET', (id) => `/v1/teardowns/${id}`],
      ['POST', (id) => `/v1/teardowns/${id}/abort`],
      ['POST', (id) => `/v1/teardowns/${id}/retry`],
      ['POST', (id) => `/v1/teardowns/${id}/approve`],
      ['POST', (id) => `/v1/teardowns/${id}/reject`],
      ['GET', (id) => `/v1/teardowns/${id}/audit`],
      ['GET', (id) => `/v1/teardowns/${id}/archive`],
    ];

    it.each(TEARDOWN_ROUTES)('%s %s answers 404 TEARDOWN_NOT_FOUND whatever the id', async (method, path) => {
      const well = 'td_01JDXXXXXXXXXXXXXXXXXXXXXX'; // the right form, nobody's teardown
      for (const id of [...IDS, well]) {
        const answer = await send(service.url, method, path(id), {
          body: method === 'POST' ? '{}' : undefined,
        });
        expect({ id: id.slice(0, 40), status: answer.status, code: answer.body['code'] }).toEqual({
          id: id.slice(0, 40),
          status: 404,
          code: 'TEARDOWN_NOT_FOUND',
        });
      }
    });

    it('DELETE /v1/holds/:id answers 404 HOLD_NOT_FOUND whatever the id', async () => {
      for (const id of [
        ...IDS.filter((i) => !i.startsWith('hold_')),
        'hold_%00',
        'td_01JDXXXXXXXXXXXXXXXXXXXXXX',
      ]) {
        const answer = await send(service.url, 'DELETE', `/v1/holds/${id}`);
        expect({ id: id.slice(0, 40), status: answer.status, code: answer.body['code'] }).toEqual({
          id: id.slice(0, 40),
          status: 404,
          code: 'HOLD_NOT_FOUND',
        });
      }
    });

    it('still answers 401 before looking at the id', async () => {
      await expect(
        send(service.url, 'GET', '/v1/teardowns/%ED%A0%80', { key: 'not-a-key-of-ours-000' }),
      ).resolves.toMatchObject({ status: 401 });
    });

    it('answers a malformed escape outside any route with ROUTE_NOT_FOUND', async () => {
      await expect(send(service.url, 'GET', '/v1/%E0%A4%A/x')).resolves.toMatchObject({
        status: 404,
        body: { code: 'ROUTE_NOT_FOUND' },
      });
    });
  });
});
