import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
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
 * Who may call what, and what hostile or careless input gets back: the role × route matrix, a
 * property test of malformed requests, the body size limit and the per-caller rate limit.
 */

const ERROR_KEYS = ['code', 'details', 'error', 'message', 'statusCode'];
/** What an error body must never show: stack frames, file paths, library internals. */
const INTERNALS =
  /\bat [\w.<>]+ \(|node_modules|\/work\/|\.[jt]s:\d+|prisma|SyntaxError|TypeError|ReferenceError|Unexpected token|ECONN|postgres/i;

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One request written byte for byte on a fresh connection: fetch and node:http refuse to send
 * CR, LF or NUL in headers or paths, and sending them is the point here.
 */
function rawRequest(port: number, request: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      const answer = parseAnswer(Buffer.concat(chunks));
      // the server may answer (413) and close before the whole body is written: the answer counts
      if (answer) resolve(answer);
      else reject(error ?? new Error(`no HTTP answer: ${Buffer.concat(chunks).toString('latin1')}`));
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish());
    // no half-close: `Connection: close` has the server close once it has answered
    socket.write(request);
  });
}

function parseAnswer(bytes: Buffer): RawAnswer | null {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '');
  if (!status) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = bytes.subarray(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (!size) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status: Number(status[1]), headers, body: body.toString('utf8') };
}

interface Malformed {
  method: string;
  /** As written on the request line: may hold anything, CR/LF/NUL included. */
  path: string;
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Buffer;
  /** Set on requests whose path names a teardown: a bad id is 404 TEARDOWN_NOT_FOUND, never 400. */
  teardownIdRoute?: true;
}

function serialize(request: Malformed): Buffer {
  const head = [`${request.method} ${request.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of request.headers) head.push(`${name}: ${value}`);
  const hasLength = request.headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name));
  if (request.body && !hasLength) head.push(`Content-Length: ${request.body.length}`);
  return Buffer.concat([
    // UTF-8 on the wire: a non-ASCII character must arrive as non-ASCII bytes (latin1 would cut it
    // to its low byte, and "ключ" would arrive as the valid key ":;NG")
    Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'utf8'),
    request.body ?? Buffer.alloc(0),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Generators of requests that must all be refused. Each one is malformed by construction: a
// request that could be valid (and create a teardown) is a bug of the generator, caught below by
// the count of teardown rows.

const VALID_BODY = {
  workflowId: 'wfl_fuzz_valid',
  reason: 'GDPR erasure, ticket PRIV-1042',
  ticket: 'PRIV-1042',
};
const ALLOWED_FIELDS = new Set(['workflowId', 'reason', 'ticket', 'dryRun', 'includeLeadHistory']);
const NASTY = [
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '..\\..\\windows',
  'td_\r\nSet-Cookie: x=1',
  'a\u0000b',
  '\u0000',
  '%00',
  '\r\n',
  'wfl_\u202e',
  '',
  ' ',
  '${jndi:ldap://x}',
  "'; DROP TABLE teardown; --",
  '<script>alert(1)</script>',
  '💥'.repeat(40),
];

const nastyString = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}${'x'.repeat(70)}`),
);
const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
const badWorkflowId = fc.oneof(
  notAString,
  nastyString.filter((s) => !/^[A-Za-z0-9_-]{1,64}$/.test(s)),
);
const badReason = fc.oneof(
  notAString,
  fc.constantFrom('', ' ', 'ab', '  a  ', 'x'.repeat(2001), `valid reason\u0000`, `valid\u001breason`),
);
const badTicket = fc.oneof(notAString, fc.constantFrom('', '   ', 't'.repeat(201), 'PRIV-1\u0007'));
const notABoolean = fc.oneof(
  fc.constantFrom('true', 'false', 0, 1, null, 'yes'),
  fc.array(fc.boolean(), { maxLength: 2 }),
);
const unknownFieldName = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'status', 'requestedBy', 'id', 'approvals'),
  fc.stringMatching(/^[a-z_]{1,20}$/).filter((k) => !ALLOWED_FIELDS.has(k)),
);

/** A JSON body for POST /v1/teardowns that the contract refuses. */
const invalidCreateBody: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ name: unknownFieldName, value: fc.jsonValue() }).map(({ name, value }) => {
    const body: Record<string, unknown> = { ...VALID_BODY };
    Object.defineProperty(body, name, { value, enumerable: true, writable: true, configurable: true });
    return body;
  }),
  badWorkflowId.map((workflowId) => ({ ...VALID_BODY, workflowId })),
  badReason.map((reason) => ({ ...VALID_BODY, reason })),
  badTicket.map((ticket) => ({ ...VALID_BODY, ticket })),
  notABoolean.map((dryRun) => ({ ...VALID_BODY, dryRun })),
  notABoolean.map((includeLeadHistory) => ({ ...VALID_BODY, includeLeadHistory })),
  fc.constantFrom('workflowId', 'reason').map((missing) => {
    const body: Record<string, unknown> = { ...VALID_BODY };
    delete body[missing];
    return body;
  }),
  fc.oneof(fc.array(fc.jsonValue(), { maxLength: 3 }), fc.constantFrom(null, 1, 'text', true, {})),
);

/** Bytes that are not one JSON value (or that body-parser's strict mode refuses). */
const brokenJson = fc.oneof(
  fc.constantFrom(
    '{',
    '{"workflowId":',
    "{'workflowId':'wfl_x'}",
    '{"workflowId":"wfl_x",}',
    '{"a":NaN}',
    '{"a":1} trailing',
    '/* comment */ {}',
    '"a string"',
    '42',
    'null',
    '\u0000',
    '{"reason":"\\ud800"}x',
  ),
  fc
    .string({ minLength: 1, maxLength: 60 })
    .map((s) => `${JSON.stringify(VALID_BODY).slice(0, 10)}${s}`)
    .filter((s) => !isJson(s)),
);

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false; // the generator wants exactly these
  }
}

const authHeader = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Array<[string, string]>>([['Authorization', `Bearer ${KEYS.admin}`]]) },
  {
    weight: 2,
    arbitrary: fc.constant<Array<[string, string]>>([['Authorization', `Bearer ${KEYS.requester}`]]),
  },
  { weight: 1, arbitrary: fc.constant<Array<[string, string]>>([]) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          `bearer ${KEYS.admin}x`,
          `Basic ${Buffer.from('a:b').toString('base64')}`,
          `Bearer ${KEYS.admin}\u0000`,
          `Bearer ${KEYS.admin}\r\nX-Injected: 1`,
          `Bearer ${'k'.repeat(600)}`,
          `Bearer ${KEYS.admin} ${KEYS.admin}`,
        ),
        fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `Bearer ${s}`),
      )
      .map((value): Array<[string, string]> => [['Authorization', value]]),
  },
);

/** Extra headers: an odd request id, idempotency key or header, some with CR, LF or NUL. */
const junkHeaders = fc.array(
  fc.oneof(
    fc.tuple(fc.constant('X-Request-Id'), nastyString),
    fc.tuple(fc.constant('X-Forwarded-For'), fc.constantFrom('127.0.0.1\r\nX-Injected: 1', '::1, <x>')),
    fc.tuple(fc.constantFrom('X-Odd', 'X-\u0000', 'Bad Header', 'X-Injected\r\nX'), nastyString),
    fc.tuple(fc.constant('X-Huge'), fc.constant('h'.repeat(20_000))),
  ),
  { maxLength: 2 },
);

// (a CR LF pair in a header is, on the wire, just one more header: only a bare CR or LF is malformed)
const badIdempotencyKey = fc.oneof(
  fc.constantFrom('', 'has space', 'k'.repeat(256), 'ключ', 'key\u0000', 'key\rX', 'key\nX-Injected: 1'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => !/^[\x21-\x7e]{1,255}$/.test(s)),
);

const badId = fc.oneof(
  fc.constantFrom(...NASTY.filter((s) => s.length > 0).map((s) => encodeURIComponent(s))),
  fc.constantFrom(
    'td_',
    'td_01JD',
    '..',
    '%2e%2e',
    '%',
    '%zz',
    '%E0%A4%A',
    'td_01JDXXXXXXXXXXXXXXXXXXXXXX%00',
  ),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 }).map((s) => encodeURIComponent(s)),
  // the right shape, but nobody's teardown
  fc.stringMatching(/^td_[0-9A-HJKMNP-TV-Z]{26}$/),
);

const contentTypeJson: Array<[string, string]> = [['Content-Type', 'application/json']];

const createRequest: fc.Arbitrary<Malformed> = fc.oneof(
  // a body the contract refuses
  fc
    .record({ auth: authHeader, extra: junkHeaders, body: invalidCreateBody })
    .map(({ auth, extra, body }): Malformed => ({
      method: 'POST',
      path: '/v1/teardowns',
      headers: [...auth, ...contentTypeJson, ...extra],
      body: Buffer.from(JSON.stringify(body) ?? 'null'),
    })),
  // not JSON at all
  fc.record({ auth: authHeader, body: brokenJson }).map(({ auth, body }): Malformed => ({
    method: 'POST',
    path: '/v1/teardowns',
    headers: [...auth, ...contentTypeJson],
    body: Buffer.from(body),
  })),
  // a valid body under a bad content type or charset
  fc
    .record({
      auth: authHeader,
      type: fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/json; charset=latin1',
        'application/json; charset=utf-7',
        'text/json\u0000',
        'application/javascript',
      ),
    })
    .map(({ auth, type }): Malformed => ({
      method: 'POST',
      path: '/v1/teardowns',
      headers: [...auth, ['Content-Type', type] as [string, string]],
      body: Buffer.from(JSON.stringify(VALID_BODY)),
    })),
  // a valid body with a bad Idempotency-Key
  fc.record({ key: badIdempotencyKey }).map(({ key }): Malformed => ({
    method: 'POST',
    path: '/v1/teardowns',
    headers: [
      ['Authorization', `Bearer ${KEYS.requester}`],
      ...contentTypeJson,
      ['Idempotency-Key', key] as [string, string],
    ],
    body: Buffer.from(JSON.stringify(VALID_BODY)),
  })),
  // a valid body without the right credentials
  fc
    .constantFrom<Array<[string, string]>>(
      [],
      [['Authorization', `Bearer ${KEYS.auditor}`]],
      [['Authorization', `Bearer ${KEYS.approver}`]],
      [['Authorization', `Bearer not-a-key-of-ours-000`]],
    )
    .map((auth): Malformed => ({
      method: 'POST',
      path: '/v1/teardowns',
      headers: [...auth, ...contentTypeJson],
      body: Buffer.from(JSON.stringify(VALID_BODY)),
    })),
  // too large, with or without a Content-Length
  fc.boolean().map((chunked): Malformed => {
    const big = Buffer.from(JSON.stringify({ ...VALID_BODY, reason: 'r'.repeat(70_000) }));
    const body = chunked
      ? Buffer.concat([Buffer.from(`${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')])
      : big;
    return {
      method: 'POST',
      path: '/v1/teardowns',
      headers: [
        ['Authorization', `Bearer ${KEYS.requester}`],
        ...contentTypeJson,
        ...(chunked ? [['Transfer-Encoding', 'chunked'] as [string, string]] : []),
      ],
      body,
    };
  }),
);

const otherRouteRequest: fc.Arbitrary<Malformed> = fc.oneof(
  fc
    .record({
      auth: authHeader,
      id: badId,
      route: fc.constantFrom('', '/abort', '/retry', '/audit', '/archive'),
    })
    .map(({ auth, id, route }): Malformed => ({
      method: route === '/abort' || route === '/retry' ? 'POST' : 'GET',
      path: `/v1/teardowns/${id}${route}`,
      headers: auth,
      teardownIdRoute: true,
    })),
  // list queries with an unknown parameter or a bad value
  fc
    .record({
      auth: authHeader,
      route: fc.constantFrom('/v1/teardowns', '/v1/audit'),
      query: fc.oneof(
        fc.constantFrom(
          'limit=0',
          'limit=101000',
          'limit=abc',
          'limit=-1',
          'limit=1.5',
          'cursor=..%2F..',
          'cursor=%00',
          'status=deleted',
          'type=teardown.exploded',
          'workflowId=..%2Fx',
          'teardownId=td_%0d%0a',
          'limit=1&limit=2',
          'workflowId[$ne]=x',
        ),
        unknownFieldName.map((name) => `${encodeURIComponent(name)}=1`),
      ),
    })
    .map(({ auth, route, query }) => ({ method: 'GET', path: `${route}?${query}`, headers: auth })),
  // routes that do not exist, or methods they do not take
  fc
    .record({
      auth: authHeader,
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
      path: fc.constantFrom(
        '/v1/teardown',
        '/v1/teardowns/../../etc/passwd',
        '/v1/../../etc/passwd',
        '/v1/audit/verify/x',
        '/v2/teardowns',
        '/v1/teardowns/%2e%2e/%2e%2e/admin',
        '//v1//teardowns',
        '/v1/holds/%00',
      ),
    })
    .map(({ auth, method, path }) => ({ method, path, headers: auth })),
  fc.constantFrom('PUT', 'PATCH', 'DELETE').map((method) => ({
    method,
    path: '/v1/teardowns',
    headers: [['Authorization', `Bearer ${KEYS.admin}`]] as Array<[string, string]>,
  })),
  // a request line or header that is not HTTP
  fc
    .constantFrom<Pick<Malformed, 'path' | 'headers'>>(
      { path: '/v1/teardowns/td_\r\nX-Injected: 1', headers: [] },
      { path: '/v1/teardowns/\u0000', headers: [] },
      { path: '/v1/teardowns with spaces', headers: [] },
      { path: '/v1/teardowns', headers: [['X-Header', 'a\u0000b']] },
      { path: '/v1/teardowns', headers: [['X-Header', 'a\rb']] },
      { path: '/v1/teardowns', headers: [['Content-Length', '-1']] },
      {
        path: '/v1/teardowns',
        headers: [
          ['Content-Length', '5'],
          ['Content-Length', '6'],
        ],
      },
      { path: '/v1/teardowns', headers: [['Transfer-Encoding', 'gzip, chunked, x']] },
    )
    .map(({ path, headers }): Malformed => ({
      method: 'POST',
      path,
      headers: [['Authorization', `Bearer ${KEYS.admin}`], ...headers],
    })),
);

const malformedRequest = fc.oneof(
  { weight: 3, arbitrary: createRequest },
  { weight: 2, arbitrary: otherRouteRequest },
);

describe('security (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let port: number;
  let client: ReturnType<typeof api>;

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 0, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(
      serviceEnv(sim.url, {
        // this suite sends thousands of requests: the rate limit has its own service below
        API_RATE_LIMIT_PER_MINUTE: '1000000',
        API_RATE_LIMIT_BURST: '1000000',
        DIALNEXA_MAX_ATTEMPTS: '1',
        RUNNER_STEP_ATTEMPTS: '1',
      }),
    );
    port = Number(new URL(service.url).port);
    client = api(service.url);
  });

  afterAll(async () => {
    sim?.faults.clear(); // releases held requests, so the service's workers can stop
    await service?.stop();
    await sim?.stop();
  });

  describe('role × route matrix', () => {
    type Column = 'none' | 'otherRequester' | 'approver' | 'auditor' | 'requester' | 'admin';
    // Callers that only read or are refused go first, so the teardowns they target are unchanged
    // when the requester and the admin act on them.
    const COLUMNS: Column[] = ['none', 'otherRequester', 'approver', 'auditor', 'requester', 'admin'];
    const keyOf = (column: Column): string | null => (column === 'none' ? null : KEYS[column]);

    /** team-a's (the requester's) teardowns: one finished dry run, two held in their export. */
    const fixtures = { done: '', abortByRequester: '', abortByAdmin: '' };
    let workflowCounter = 0;

    beforeAll(async () => {
      const workflowId = sim.addWorkflow({ nodes: 2, edges: 1, leads: 3 });
      const done = await client.create({ workflowId, reason: 'matrix fixture', dryRun: true });
      fixtures.done = String(done.body['id']);
      const finished = await client.waitForEnd(fixtures.done);
      if (finished['status'] !== 'completed') throw new Error(`fixture: ${JSON.stringify(finished)}`);
      // these exports hang upstream, so both teardowns stay abortable for the whole suite
      sim.faults.hang({ path: /wfl_hang_/ });
      for (const name of ['abortByRequester', 'abortByAdmin'] as const) {
        const held = await client.create({ workflowId: `wfl_hang_${name}`, reason: 'matrix fixture' });
        if (held.status !== 202) throw new Error(`fixture: ${JSON.stringify(held.body)}`);
        fixtures[name] = String(held.body['id']);
      }
    });

    // Expected answers, from the contract's roles: requester (create teardowns, read those it
    // created; abort and retry are its own teardown's), approver (approve or reject others'
    // teardowns), auditor (read every teardown, audit event and archive), admin (all).
    // "otherRequester" is team-b acting on team-a's teardown (404: its existence is private),
    // or on its own behalf for the routes without a teardown.
    // The contract does not say whether an approver may read teardowns; it must see what it is
    // asked to approve, so it reads them all (as the service implements) — cells marked (*).
    // retry answers 409 to callers allowed to retry: the fixture is completed, not failed.
    // /archive needs the auditor role: its 403 comes before any ownership check.
    const MATRIX: Array<{
      route: string;
      method: string;
      path: (id: string) => string;
      target?: Partial<Record<Column, keyof typeof fixtures>>;
      expected: Record<Column, number>;
    }> = [
      {
        route: 'POST /v1/teardowns',
        method: 'POST',
        path: () => '/v1/teardowns',
        expected: { none: 401, otherRequester: 202, approver: 403, auditor: 403, requester: 202, admin: 202 },
      },
      {
        route: 'GET /v1/teardowns',
        method: 'GET',
        path: () => '/v1/teardowns',
        expected: {
          none: 401,
          otherRequester: 200,
          approver: 200 /* (*) */,
          auditor: 200,
          requester: 200,
          admin: 200,
        },
      },
      {
        route: 'GET /v1/teardowns/:id',
        method: 'GET',
        path: (id) => `/v1/teardowns/${id}`,
        expected: {
          none: 401,
          otherRequester: 404,
          approver: 200 /* (*) */,
          auditor: 200,
          requester: 200,
          admin: 200,
        },
      },
      {
        route: 'POST /v1/teardowns/:id/abort',
        method: 'POST',
        path: (id) => `/v1/teardowns/${id}/abort`,
        target: {
          none: 'abortByRequester',
          otherRequester: 'abortByRequester',
          approver: 'abortByRequester',
          auditor: 'abortByRequester',
          requester: 'abortByRequester',
          admin: 'abortByAdmin',
        },
        expected: { none: 401, otherRequester: 404, approver: 403, auditor: 403, requester: 200, admin: 200 },
      },
      {
        route: 'POST /v1/teardowns/:id/retry',
        method: 'POST',
        path: (id) => `/v1/teardowns/${id}/retry`,
        expected: { none: 401, otherRequester: 404, approver: 403, auditor: 403, requester: 409, admin: 409 },
      },
      {
        route: 'GET /v1/teardowns/:id/audit',
        method: 'GET',
        path: (id) => `/v1/teardowns/${id}/audit`,
        expected: {
          none: 401,
          otherRequester: 404,
          approver: 200 /* (*) */,
          auditor: 200,
          requester: 200,
          admin: 200,
        },
      },
      {
        route: 'GET /v1/teardowns/:id/archive',
        method: 'GET',
        path: (id) => `/v1/teardowns/${id}/archive`,
        expected: { none: 401, otherRequester: 403, approver: 403, auditor: 200, requester: 403, admin: 200 },
      },
      {
        route: 'GET /v1/audit',
        method: 'GET',
        path: () => '/v1/audit',
        expected: { none: 401, otherRequester: 403, approver: 403, auditor: 200, requester: 403, admin: 200 },
      },
      {
        route: 'GET /v1/audit/verify',
        method: 'GET',
        path: () => '/v1/audit/verify',
        expected: { none: 401, otherRequester: 403, approver: 403, auditor: 200, requester: 403, admin: 200 },
      },
    ];

    const CODES: Record<number, string> = {
      401: 'UNAUTHENTICATED',
      403: 'FORBIDDEN',
      404: 'TEARDOWN_NOT_FOUND',
      409: 'TEARDOWN_NOT_RETRYABLE',
    };

    it.each(MATRIX)('$route answers each caller as its roles allow', async (row) => {
      const answers: Record<string, { status: number; code: unknown }> = {};
      const expected: Record<string, { status: number; code: unknown }> = {};
      for (const column of COLUMNS) {
        const id = fixtures[row.target?.[column] ?? 'done'];
        const body =
          row.route === 'POST /v1/teardowns'
            ? { workflowId: `wfl_matrix_${(workflowCounter += 1)}`, reason: 'matrix cell', dryRun: true }
            : undefined;
        const answer = await client.call(row.method, row.path(id), { key: keyOf(column), body });
        answers[column] = { status: answer.status, code: answer.body['code'] };
        expected[column] = { status: row.expected[column], code: CODES[row.expected[column]] };
      }
      expect(answers).toEqual(expected);
    });

    it('lists a requester only its own teardowns', async () => {
      const listed = async (key: string) =>
        (
          await client.call<{ data: Array<{ id: string }> }>('GET', '/v1/teardowns?limit=100', { key })
        ).body.data.map((t) => t.id);
      await expect(listed(KEYS.requester)).resolves.toContain(fixtures.done);
      await expect(listed(KEYS.otherRequester)).resolves.not.toContain(fixtures.done);
      await expect(listed(KEYS.auditor)).resolves.toContain(fixtures.done);
    });
  });

  it('reads the Bearer scheme case-insensitively, as HTTP defines auth schemes', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const answer = await client.call('GET', '/v1/teardowns?limit=1', {
        key: null,
        headers: { authorization: `${scheme} ${KEYS.auditor}` },
      });
      expect(answer.status).toBe(200);
    }
    await expect(
      client.call('GET', '/v1/teardowns?limit=1', {
        key: null,
        headers: { authorization: `Basic ${KEYS.auditor}` },
      }),
    ).resolves.toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
  });

  describe('malformed requests', () => {
    it('answers thousands of generated malformed requests with a 4xx in the error shape, and creates nothing', async () => {
      const teardownsBefore = await query<{ n: string }>('SELECT count(*) AS n FROM teardown');
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(malformedRequest, async (request) => {
          const answer = await rawRequest(port, serialize(request));
          seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
          const context = `${request.method} ${JSON.stringify(request.path)} → ${answer.status} ${answer.body.slice(0, 300)}`;
          if (answer.status < 400 || answer.status > 499) throw new Error(`not a 4xx: ${context}`);
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(answer.body) as Record<string, unknown>;
          } catch (error) {
            throw new Error(`not a JSON error body: ${context}`, { cause: error });
          }
          if (JSON.stringify(Object.keys(body).sort()) !== JSON.stringify(ERROR_KEYS)) {
            throw new Error(`not the error shape: ${context}`);
          }
          if (
            body['statusCode'] !== answer.status ||
            typeof body['error'] !== 'string' ||
            typeof body['message'] !== 'string' ||
            !/^[A-Z_]+$/.test(String(body['code'])) ||
            typeof body['details'] !== 'object' ||
            body['details'] === null
          ) {
            throw new Error(`bad error fields: ${context}`);
          }
          if (INTERNALS.test(answer.body)) throw new Error(`internal detail in the body: ${context}`);
          // an id names nothing whatever its form; only the HTTP parser (a bad header) answers 400
          if (
            request.teardownIdRoute &&
            ((answer.status === 404 && body['code'] !== 'TEARDOWN_NOT_FOUND') ||
              (answer.status === 400 && body['message'] !== 'the request is not valid HTTP'))
          ) {
            throw new Error(
              `a teardown id route answered neither 404 TEARDOWN_NOT_FOUND nor a parser 400: ${context}`,
            );
          }
          if (
            Object.keys(answer.headers).some((name) => name.includes('injected') || name === 'set-cookie')
          ) {
            throw new Error(`a header was injected into the answer: ${context}`);
          }
        }),
        { numRuns: 2000, seed: 4242, interruptAfterTimeLimit: 30_000, markInterruptAsFailure: false },
      );
      const teardownsAfter = await query<{ n: string }>('SELECT count(*) AS n FROM teardown');
      expect(teardownsAfter[0]!.n).toBe(teardownsBefore[0]!.n);
      // the generators reached the layers they aim at: parser, auth, roles, validation, size, type
      expect([...seen.keys()].sort()).toEqual(expect.arrayContaining([400, 401, 403, 404, 413, 415]));
      process.stderr.write(`malformed requests by status: ${JSON.stringify(Object.fromEntries(seen))}\n`);
      expect([...seen.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1000);
    }, 60_000);
  });

  describe('body size', () => {
    it('refuses a body over BODY_LIMIT_BYTES with 413 PAYLOAD_TOO_LARGE, before reading it as a teardown', async () => {
      const reason = 'r'.repeat(service.config.bodyLimitBytes);
      const answer = await client.create({ workflowId: 'wfl_too_large', reason });
      expect(answer).toMatchObject({
        status: 413,
        body: { statusCode: 413, error: 'Payload Too Large', code: 'PAYLOAD_TOO_LARGE', details: {} },
      });
      await expect(
        query('SELECT 1 FROM teardown WHERE workflow_id = $1', ['wfl_too_large']),
      ).resolves.toEqual([]);
    });
  });
});

describe('rate limiting (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;

  beforeAll(async () => {
    sim = new DialnexaSimulator();
    await sim.start();
    service = await startService(
      serviceEnv(sim.url, {
        API_RATE_LIMIT_PER_MINUTE: '60',
        API_RATE_LIMIT_BURST: '5',
        RUNNER_ENABLED: 'false',
      }),
    );
    client = api(service.url);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
  });

  it('gives each caller its own budget, answers 429 with Retry-After over it, and never counts strangers or health checks', async () => {
    // strangers first: none of this may spend team-a's budget
    const strangers = await Promise.all(
      [null, 'not-a-key-of-ours-000', `${KEYS.requester}x`, 'team-a'].flatMap((key) =>
        Array.from({ length: 10 }, () => client.call('GET', '/v1/teardowns', { key })),
      ),
    );
    expect(new Set(strangers.map((a) => a.status))).toEqual(new Set([401]));
    const health = await Promise.all(
      Array.from({ length: 20 }, () => client.call('GET', '/healthz', { key: null })),
    );
    expect(new Set(health.map((a) => a.status))).toEqual(new Set([200]));

    const burst = [];
    for (let i = 0; i < 5; i += 1) burst.push((await client.call('GET', '/v1/teardowns')).status);
    expect(burst).toEqual([200, 200, 200, 200, 200]);
    const limited = await client.call('GET', '/v1/teardowns');
    expect(limited).toMatchObject({
      status: 429,
      body: {
        statusCode: 429,
        error: 'Too Many Requests',
        code: 'RATE_LIMITED',
        details: { retryAfterSeconds: 1 },
      },
    });
    expect(limited.headers.get('retry-after')).toBe('1');
    // refused requests of any route count against the same caller
    await expect(client.call('GET', '/v1/audit')).resolves.toMatchObject({ status: 429 });
    await expect(client.call('GET', '/v1/teardowns', { key: KEYS.otherRequester })).resolves.toMatchObject({
      status: 200,
    });

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await expect(client.call('GET', '/v1/teardowns')).resolves.toMatchObject({ status: 200 });
  });
});
