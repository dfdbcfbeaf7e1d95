import { describe, it, expect } from '@jest/globals';
import { errors } from 'undici';
import { DomainError } from '../common/domain-error.js';
import { DialnexaClient } from './dialnexa.client.js';
import type { JsonObject } from './dialnexa.types.js';
import { RequestTally } from './request-tally.js';
import {
  type Answer,
  API_KEY,
  build,
  buildConfig,
  ORIGIN,
  PHONE,
  reset,
  T0,
} from './testing/mock-dialnexa.js';

function buildWorkflow(overrides: JsonObject = {}): JsonObject {
  return {
    id: 'wfl_m3v7zb9rk2px',
    organization_id: 'org_x8k2m9q4v7na',
    name: '30-Day Lead Nurture',
    description: null,
    status: 'active',
    node_count: 5,
    created_at: '2024-04-01T08:00:00.000Z',
    ...overrides,
  };
}

function buildLead(overrides: JsonObject = {}): JsonObject {
  return {
    id: 'wlead_p3q8zv5bk2mx',
    workflow_id: 'wfl_m3v7zb9rk2px',
    phone_number: PHONE,
    metadata: { first_name: 'Ana' },
    status: 'in_progress',
    ...overrides,
  };
}

const WF = 'wfl_m3v7zb9rk2px';
const WF_PATH = `/v1/workflows/${WF}`;

const page = (n: number) => `${WF_PATH}/leads?page=${n}&limit=100`;

/** What DestructiveCallGate passes; here it lets every attempt through and records them. */
function gated(log: string[] = []) {
  return {
    beforeSend: () => {
      log.push('send');
      return Promise.resolve();
    },
    afterAnswer: (status: number) => {
      log.push(`answer ${status}`);
      return Promise.resolve();
    },
  };
}

describe(DialnexaClient.name, () => {
  describe('metrics', () => {
    it('reports each attempt by endpoint template and status, its retries and the rate-limit headers', async () => {
      const { sut, answer, fail, reports } = build();
      fail('GET', WF_PATH, reset());
      answer(
        'GET',
        WF_PATH,
        { status: 503 },
        { status: 429, headers: { 'retry-after': '1' } },
        {
          status: 200,
          body: buildWorkflow(),
          headers: { 'x-ratelimit-limit': '150', 'x-ratelimit-remaining': '7' },
        },
      );

      await sut.getWorkflow(WF);

      expect(reports).toEqual([
        'GET workflow.get none',
        'retry workflow.get transport',
        'GET workflow.get 503',
        'limit - remaining -',
        'retry workflow.get server_error',
        'GET workflow.get 429',
        'limit - remaining -',
        'retry workflow.get rate_limited',
        'GET workflow.get 200',
        'limit 150 remaining 7',
      ]);
    });

    it('knows DialNexa reachable for a while after an answer that accepts the key, not after a 401 or a 5xx', async () => {
      const { sut, answer, time } = build({ maxAttempts: 1 });
      expect(sut.reachableWithin(30_000)).toBe(false);
      answer('GET', WF_PATH, { status: 401 }, { status: 500 });
      await expect(sut.getWorkflow(WF)).rejects.toBeInstanceOf(DomainError);
      await expect(sut.getWorkflow(WF)).rejects.toBeInstanceOf(DomainError);
      expect(sut.reachableWithin(30_000)).toBe(false);
      answer('GET', WF_PATH, { status: 404 });
      await expect(sut.getWorkflow(WF)).rejects.toBeInstanceOf(DomainError);
      expect(sut.reachableWithin(30_000)).toBe(true);
      time.now += 30_001;
      expect(sut.reachableWithin(30_000)).toBe(false);
    });
  });

  describe('requests', () => {
    it('sends the Bearer key and asks for JSON', async () => {
      const { sut, answer, seen } = build();
      answer('GET', WF_PATH, { status: 200, body: buildWorkflow() });

      await expect(sut.getWorkflow(WF)).resolves.toEqual(buildWorkflow());
      expect(seen[0]!.headers).toMatchObject({
        authorization: `Bearer ${API_KEY}`,
        accept: 'application/json',
      });
    });

    it('URL-encodes every path segment', async () => {
      const { sut, answer, seen } = build();
      answer('GET', '/v1/workflows/wf%2F1/leads/wlead%20a%3Fb/history', {
        status: 200,
        body: { id: 'x', history: [] },
      });

      await expect(sut.getLeadHistory('wf/1', 'wlead a?b')).resolves.toEqual({ id: 'x', history: [] });
      expect(seen).toHaveLength(1);
    });

    it('refuses an empty or dot id rather than address another resource', async () => {
      const { sut, seen } = build();

      await expect(sut.deleteWorkflow('', gated())).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(sut.deleteWorkflow('..', gated())).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(seen).toHaveLength(0);
    });

    it('keeps a path below the base URL', async () => {
      const { sut, answer, seen } = build({ baseUrl: `${ORIGIN}/sim` });
      answer('GET', `/sim${WF_PATH}`, { status: 200, body: buildWorkflow() });

      await expect(sut.getWorkflow(WF)).resolves.toEqual(buildWorkflow());
      expect(seen).toHaveLength(1);
    });
  });

  describe('bodies', () => {
    it('unwraps the {statusCode, message, data} envelope', async () => {
      const { sut, answer } = build();
      answer('GET', WF_PATH, {
        status: 200,
        body: { statusCode: 200, message: 'OK', data: buildWorkflow({ createdAt: 'x' }) },
      });

      await expect(sut.getWorkflow(WF)).resolves.toEqual(buildWorkflow({ createdAt: 'x' }));
    });

    it('keeps every field as served, unknown ones included', async () => {
      const { sut, answer } = build();
      const workflow = buildWorkflow({
        future_field: { nested: [1, 'two', null] },
        statusCode: 'not-an-envelope',
      });
      answer('GET', WF_PATH, { status: 200, body: workflow });

      await expect(sut.getWorkflow(WF)).resolves.toEqual(workflow);
    });

    it('unwraps an enveloped list whose data is the array, taking the outer meta', async () => {
      const { sut, answer } = build();
      const lead = buildLead({ extra: true });
      answer('GET', page(1), {
        status: 200,
        body: {
          statusCode: 200,
          message: 'OK',
          data: [lead],
          meta: { page: 1, limit: 100, total: 1, totalPages: 1 },
        },
      });

      const pages = await collect(sut.pages(WF, 'leads'));
      expect(pages).toEqual([
        {
          items: [lead],
          meta: { page: 1, limit: 100, total: 1, totalPages: 1 },
          page: 1,
          raw: { body: expect.any(Uint8Array) as unknown, itemsPath: ['data'] },
        },
      ]);
      // the body as served, where the archive finds each lead's bytes
      expect(JSON.parse(Buffer.from(pages[0]!.raw!.body).toString('utf8'))).toMatchObject({ data: [lead] });
    });

    it('says where the items of a list enveloped twice are, for the archive to find their bytes', async () => {
      const { sut, answer } = build();
      answer('GET', page(1), {
        status: 200,
        body: {
          statusCode: 200,
          data: { data: [buildLead()], meta: { page: 1, limit: 100, total: 1, totalPages: 1 } },
        },
      });

      const [first] = await collect(sut.pages(WF, 'leads'));
      expect(first?.raw?.itemsPath).toEqual(['data', 'data']);
    });

    it('unwraps an enveloped list whose data is {data, meta}', async () => {
      const { sut, answer } = build();
      answer('GET', `${WF_PATH}/edges?page=1&limit=100`, {
        status: 200,
        body: {
          statusCode: 200,
          data: { data: [{ id: 'edge_1' }], meta: { page: 1, limit: 100, total: 1, totalPages: 1 } },
        },
      });

      await expect(sut.listAll(WF, 'edges')).resolves.toEqual({ items: [{ id: 'edge_1' }], total: 1 });
    });

    it('fails retryably with UPSTREAM_BAD_RESPONSE on a body that is not JSON, without quoting it', async () => {
      const { sut, answer } = build();
      answer('GET', WF_PATH, { status: 200, body: `{"phone_number": "${PHONE}", ` });

      await expect(sut.getWorkflow(WF)).rejects.toMatchObject({
        code: 'UPSTREAM_BAD_RESPONSE',
        retryable: true,
      });
      answer('GET', WF_PATH, { status: 200, body: `{"phone_number": "${PHONE}", ` });
      const error = await settle(sut.getWorkflow(WF));
      expect(serialize(error)).not.toContain(PHONE);
    });

    it('fails with UPSTREAM_BAD_RESPONSE when a list is not a list', async () => {
      const { sut, answer } = build();
      answer('GET', `${WF_PATH}/nodes?page=1&limit=100`, { status: 200, body: { nodes: 'none' } });

      await expect(sut.listAll(WF, 'nodes')).rejects.toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
    });
  });

  describe('paging', () => {
    it('reads every page with limit=100 until totalPages, and no further', async () => {
      const { sut, answer, seen, agent } = build();
      const meta = (p: number) => ({ page: p, limit: 100, total: 250, totalPages: 3 });
      answer('GET', page(1), { status: 200, body: { data: [buildLead({ id: 'wlead_1' })], meta: meta(1) } });
      answer('GET', page(2), { status: 200, body: { data: [buildLead({ id: 'wlead_2' })], meta: meta(2) } });
      answer('GET', page(3), { status: 200, body: { data: [buildLead({ id: 'wlead_3' })], meta: meta(3) } });

      const pages = await collect(sut.pages(WF, 'leads'));

      expect(pages.map((p) => p.page)).toEqual([1, 2, 3]);
      expect(pages.flatMap((p) => p.items.map((i) => i.id))).toEqual(['wlead_1', 'wlead_2', 'wlead_3']);
      expect(seen.map((r) => r.path)).toEqual([page(1), page(2), page(3)]);
      agent.assertNoPendingInterceptors();
    });

    it('fetches each page only when the previous one was consumed', async () => {
      const { sut, answer, seen } = build();
      const meta = { page: 1, limit: 100, total: 250, totalPages: 3 };
      answer('GET', page(1), { status: 200, body: { data: [buildLead()], meta } });

      const pages = sut.pages(WF, 'leads');
      await expect(pages.next()).resolves.toMatchObject({ done: false, value: { page: 1 } });
      expect(seen).toHaveLength(1);
      await expect(pages.return(undefined)).resolves.toMatchObject({ done: true });
      expect(seen).toHaveLength(1);
    });

    it('takes a response without meta as the whole list', async () => {
      const { sut, answer, seen } = build();
      const nodes = Array.from({ length: 100 }, (_, i) => ({ id: `node_${i}`, node_type: 'FUTURE_TYPE' }));
      answer('GET', `${WF_PATH}/nodes?page=1&limit=100`, { status: 200, body: { data: nodes } });

      await expect(sut.listAll(WF, 'nodes')).resolves.toEqual({ items: nodes, total: undefined });
      expect(seen).toHaveLength(1);
    });

    it('stops at an empty page even when meta promises more', async () => {
      const { sut, answer, seen } = build();
      answer('GET', page(1), {
        status: 200,
        body: { data: [], meta: { page: 1, limit: 100, total: 500, totalPages: 5 } },
      });

      await expect(collect(sut.pages(WF, 'leads'))).resolves.toHaveLength(1);
      expect(seen).toHaveLength(1);
    });

    it('derives totalPages from total when it is missing', async () => {
      const { sut, answer, seen } = build();
      answer('GET', page(1), {
        status: 200,
        body: { data: [buildLead()], meta: { page: 1, limit: 100, total: 101 } },
      });
      answer('GET', page(2), {
        status: 200,
        body: { data: [buildLead()], meta: { page: 2, limit: 100, total: 101 } },
      });

      await expect(collect(sut.pages(WF, 'leads'))).resolves.toHaveLength(2);
      expect(seen).toHaveLength(2);
    });
  });

  describe('count', () => {
    it('asks for one item with the status and answers meta.total', async () => {
      const { sut, answer, seen } = build();
      answer('GET', `${WF_PATH}/leads?page=1&limit=1&status=in_progress`, {
        status: 200,
        body: { data: [buildLead()], meta: { page: 1, limit: 1, total: 4321, totalPages: 4321 } },
      });

      await expect(sut.count(WF, 'leads', { status: 'in_progress' })).resolves.toBe(4321);
      expect(seen).toHaveLength(1);
    });

    it('counts the items of a list served without meta', async () => {
      const { sut, answer } = build();
      answer('GET', `${WF_PATH}/nodes?page=1&limit=1`, {
        status: 200,
        body: { data: [{ id: 'a' }, { id: 'b' }] },
      });

      await expect(sut.count(WF, 'nodes')).resolves.toBe(2);
    });

    it('counts every attempt in the tally, resends included', async () => {
      const { sut, answer } = build();
      const tally = new RequestTally(10);
      answer(
        'GET',
        `${WF_PATH}/leads?page=1&limit=1`,
        { status: 503 },
        { status: 200, body: { data: [], meta: { page: 1, limit: 1, total: 0, totalPages: 0 } } },
      );

      await expect(sut.count(WF, 'leads', { tally })).resolves.toBe(0);
      expect(tally.count).toBe(12);
    });
  });

  describe('paging ahead', () => {
    const meta = (p: number, totalPages: number) => ({
      page: p,
      limit: 100,
      total: totalPages * 100,
      totalPages,
    });
    const leadsPage = (p: number, totalPages: number): Answer => ({
      status: 200,
      body: { data: [buildLead({ id: `wlead_${p}` })], meta: meta(p, totalPages) },
    });

    it('requests the pages after page 1 concurrently and yields them in page order', async () => {
      const { sut, answer, seen, agent } = build({ pageConcurrency: 3 });
      answer('GET', page(1), leadsPage(1, 5));
      // page 2 answers last: the pages after it are held until it came
      agent
        .get(ORIGIN)
        .intercept({ method: 'GET', path: page(2) })
        .reply(200, { data: [buildLead({ id: 'wlead_2' })], meta: meta(2, 5) })
        .delay(50);
      for (const p of [3, 4, 5]) answer('GET', page(p), leadsPage(p, 5));

      const pages = await collect(sut.pages(WF, 'leads'));

      expect(pages.map((p) => p.page)).toEqual([1, 2, 3, 4, 5]);
      expect(pages.flatMap((p) => p.items.map((i) => i.id))).toEqual(
        [1, 2, 3, 4, 5].map((p) => `wlead_${p}`),
      );
      // pages 3 and 4 went out while page 2 was still unanswered
      expect(seen.map((r) => r.path).slice(0, 3)).toEqual([page(1), page(3), page(4)]);
      agent.assertNoPendingInterceptors();
    });

    it('sends no further request once the consumer stopped', async () => {
      const { sut, answer, seen } = build({ pageConcurrency: 2 });
      for (const p of [1, 2, 3, 4]) answer('GET', page(p), leadsPage(p, 50));

      const pages = sut.pages(WF, 'leads');
      await expect(pages.next()).resolves.toMatchObject({ value: { page: 1 } });
      await expect(pages.next()).resolves.toMatchObject({ value: { page: 2 } });
      await expect(pages.return(undefined)).resolves.toMatchObject({ done: true });

      // page 2 handed over with pages 3 and 4 requested ahead of it; nothing after
      expect(seen.map((r) => r.path)).toEqual([page(1), page(2), page(3), page(4)]);
    });

    it('fails with the error of a later page after yielding the pages before it, retries included', async () => {
      const { sut, answer, seen } = build({ pageConcurrency: 4 });
      answer('GET', page(1), leadsPage(1, 4));
      answer('GET', page(2), { status: 503 }, leadsPage(2, 4));
      answer('GET', page(3), { status: 403, body: { statusCode: 403, message: 'Forbidden' } });
      answer('GET', page(4), leadsPage(4, 4));

      const yielded: number[] = [];
      const error = await settle(
        (async () => {
          for await (const p of sut.pages(WF, 'leads')) yielded.push(p.page);
        })(),
      );

      expect(error).toMatchObject({ code: 'UPSTREAM_FORBIDDEN' });
      expect(yielded).toEqual([1, 2]);
      expect(seen.filter((r) => r.path === page(2))).toHaveLength(2);
    });

    it("stops with the signal's own reason when it aborts between pages", async () => {
      const { sut, answer } = build();
      answer('GET', page(1), leadsPage(1, 3));
      const controller = new AbortController();
      const reason = new Error('lease lost');

      const pages = sut.pages(WF, 'leads', { signal: controller.signal });
      await expect(pages.next()).resolves.toMatchObject({ value: { page: 1 } });
      controller.abort(reason);

      await expect(pages.next()).rejects.toBe(reason);
    });
  });

  describe('errors', () => {
    it.each([
      [400, 'UPSTREAM_BAD_REQUEST', false],
      [401, 'UPSTREAM_UNAUTHORIZED', false],
      [403, 'UPSTREAM_FORBIDDEN', false],
      [404, 'WORKFLOW_NOT_FOUND', false],
      [409, 'UPSTREAM_CONFLICT', false],
      [410, 'WORKFLOW_GONE', false],
      [422, 'UPSTREAM_BAD_REQUEST', false],
      [429, 'UPSTREAM_RATE_LIMITED', true],
      [500, 'UPSTREAM_UNAVAILABLE', true],
      [502, 'UPSTREAM_UNAVAILABLE', true],
      [503, 'UPSTREAM_UNAVAILABLE', true],
    ])('maps %i to %s (retryable: %s)', async (status, code, retryable) => {
      const { sut, answer } = build({ maxAttempts: 1 });
      answer('GET', WF_PATH, {
        status,
        body: { statusCode: status, message: 'Workflow is still active. Cancel it first.', error: 'x' },
        headers: { 'retry-after': '0' },
      });

      await expect(sut.getWorkflow(WF)).rejects.toBeInstanceOf(DomainError);
      answer('GET', WF_PATH, {
        status,
        body: { statusCode: status, message: ['first', 'second'] },
        headers: { 'retry-after': '0' },
      });
      await expect(sut.getWorkflow(WF)).rejects.toMatchObject({
        code,
        retryable,
        details: { status, method: 'GET', path: WF_PATH, upstreamMessage: 'first; second' },
      });
    });

    it('maps a timeout to UPSTREAM_TIMEOUT, retryable', async () => {
      const { sut, fail } = build({ maxAttempts: 1 });
      fail('GET', WF_PATH, new errors.HeadersTimeoutError());

      await expect(sut.getWorkflow(WF)).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT', retryable: true });
    });

    it('names the path without its query', async () => {
      const { sut, answer } = build();
      answer('GET', page(1), { status: 404, body: { statusCode: 404, message: 'Not Found' } });

      await expect(collect(sut.pages(WF, 'leads'))).rejects.toMatchObject({
        code: 'WORKFLOW_NOT_FOUND',
        details: { path: `${WF_PATH}/leads` },
      });
    });

    it('never lets the API key or a phone number into an error', async () => {
      const { sut, answer, fail } = build({ maxAttempts: 1 });
      answer('GET', WF_PATH, {
        status: 401,
        body: { statusCode: 401, message: `Invalid key Bearer ${API_KEY}` },
      });
      answer('GET', page(1), {
        status: 400,
        body: { statusCode: 400, message: `phone_number ${PHONE} is not valid` },
      });
      fail(
        'POST',
        `${WF_PATH}/cancel`,
        Object.assign(new Error(`socket closed: authorization: Bearer ${API_KEY}`), {
          code: 'UND_ERR_SOCKET',
        }),
      );

      const failures = [
        await settle(sut.getWorkflow(WF)),
        await settle(collect(sut.pages(WF, 'leads'))),
        await settle(sut.cancelWorkflow(WF, gated())),
        await settle(sut.getWorkflow('wfl_not_scripted')),
      ];

      for (const error of failures) {
        expect(error).toBeInstanceOf(DomainError);
        const text = serialize(error);
        expect(text).not.toContain(API_KEY);
        expect(text).not.toContain(PHONE);
      }
      expect(failures.map((e) => (e as DomainError).code)).toEqual([
        'UPSTREAM_UNAUTHORIZED',
        'UPSTREAM_BAD_REQUEST',
        'UPSTREAM_UNAVAILABLE',
        'UPSTREAM_UNAVAILABLE',
      ]);
    });

    it('never logs the API key, a body or a phone number', async () => {
      const { sut, answer, logs } = build();
      answer('GET', page(1), { status: 503, body: { statusCode: 503, message: `down for ${PHONE}` } });
      answer('GET', page(1), {
        status: 200,
        body: { data: [buildLead()], meta: { page: 1, limit: 100, total: 1, totalPages: 1 } },
      });

      await expect(collect(sut.pages(WF, 'leads'))).resolves.toHaveLength(1);
      expect(logs.length).toBeGreaterThan(0);
      expect(logs.join('\n')).not.toContain(API_KEY);
      expect(logs.join('\n')).not.toContain(PHONE);
      expect(logs.join('\n')).not.toContain('first_name');
    });
  });

  describe('retries', () => {
    it('retries a GET on 503 with jittered back-off, then succeeds', async () => {
      const { sut, answer, seen, sleeps } = build();
      answer('GET', WF_PATH, { status: 503 }, { status: 503 }, { status: 200, body: buildWorkflow() });

      await expect(sut.getWorkflow(WF)).resolves.toEqual(buildWorkflow());
      expect(seen).toHaveLength(3);
      // full jitter with random() = 0.5: half of 100 * 2^(n-1)
      expect(sleeps).toEqual([50, 100]);
    });

    it('retries a GET after a connection reset, then succeeds', async () => {
      const { sut, answer, fail, seen } = build();
      fail('GET', page(1), reset());
      answer('GET', page(1), { status: 200, body: { data: [buildLead()] } });

      await expect(collect(sut.pages(WF, 'leads'))).resolves.toHaveLength(1);
      expect(seen).toHaveLength(2);
    });

    it('caps the back-off at retryMaxMs', async () => {
      const { sut, answer, sleeps } = build({ maxAttempts: 6, retryBaseMs: 100, retryMaxMs: 300 });
      answer('GET', WF_PATH, ...Array.from({ length: 5 }, () => ({ status: 500 })), {
        status: 200,
        body: {},
      });

      await expect(sut.getWorkflow(WF)).resolves.toEqual({});
      expect(sleeps).toEqual([50, 100, 150, 150, 150]);
    });

    it('gives up after maxAttempts with UPSTREAM_UNAVAILABLE, retryable', async () => {
      const { sut, answer, fail, seen } = build({ maxAttempts: 4 });
      answer('GET', WF_PATH, { status: 503 }, { status: 502 });
      fail('GET', WF_PATH, reset());
      answer('GET', WF_PATH, { status: 503 }, { status: 200, body: buildWorkflow() });

      await expect(sut.getWorkflow(WF)).rejects.toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
        details: { status: 503 },
      });
      expect(seen).toHaveLength(4);
    });

    it('never retries a 403', async () => {
      const { sut, answer, seen } = build();
      answer('GET', WF_PATH, { status: 403 }, { status: 200, body: buildWorkflow() });

      await expect(sut.getWorkflow(WF)).rejects.toMatchObject({
        code: 'UPSTREAM_FORBIDDEN',
        retryable: false,
      });
      expect(seen).toHaveLength(1);
    });
  });

  describe('abort', () => {
    it("stops with the signal's own reason and sends nothing once aborted", async () => {
      const { sut, seen } = build();
      const controller = new AbortController();
      const reason = new Error('lease lost');
      controller.abort(reason);

      await expect(sut.getWorkflow(WF, { signal: controller.signal })).rejects.toBe(reason);
      expect(seen).toHaveLength(0);
    });
  });

  describe('cancelWorkflow', () => {
    it('answers cancelled on any 2xx', async () => {
      const { sut, answer, seen } = build();
      answer('POST', `${WF_PATH}/cancel`, { status: 202, body: { id: WF, status: 'cancelled' } });

      await expect(sut.cancelWorkflow(WF, gated())).resolves.toBe('cancelled');
      expect(seen.map((r) => r.method)).toEqual(['POST']);
    });

    it('answers already_terminal on 409', async () => {
      const { sut, answer } = build();
      answer('POST', `${WF_PATH}/cancel`, {
        status: 409,
        body: { statusCode: 409, message: 'Workflow already completed' },
      });

      await expect(sut.cancelWorkflow(WF, gated())).resolves.toBe('already_terminal');
    });

    it('does not resend after a 503 or a reset', async () => {
      const { sut, answer, fail, seen } = build();
      answer('POST', `${WF_PATH}/cancel`, { status: 503 });
      fail('POST', `${WF_PATH}/cancel`, reset());

      await expect(sut.cancelWorkflow(WF, gated())).rejects.toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
      });
      await expect(sut.cancelWorkflow(WF, gated())).rejects.toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
      });
      expect(seen).toHaveLength(2);
    });

    it('maps 404 to WORKFLOW_NOT_FOUND', async () => {
      const { sut, answer } = build();
      answer('POST', `${WF_PATH}/cancel`, { status: 404 });

      await expect(sut.cancelWorkflow(WF, gated())).rejects.toMatchObject({ code: 'WORKFLOW_NOT_FOUND' });
    });
  });

  describe('deleteWorkflow', () => {
    it('resolves on 2xx', async () => {
      const { sut, answer, seen } = build();
      answer('DELETE', WF_PATH, { status: 200, body: { message: 'Workflow deleted.' } });

      await expect(sut.deleteWorkflow(WF, gated())).resolves.toBeUndefined();
      expect(seen.map((r) => r.method)).toEqual(['DELETE']);
    });

    it('is not resent after a 503', async () => {
      const { sut, answer, seen } = build();
      answer('DELETE', WF_PATH, { status: 503 }, { status: 200 });

      await expect(sut.deleteWorkflow(WF, gated())).rejects.toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
      });
      expect(seen).toHaveLength(1);
    });

    it.each([
      [409, 'UPSTREAM_CONFLICT'],
      [404, 'WORKFLOW_NOT_FOUND'],
      [403, 'UPSTREAM_FORBIDDEN'],
    ])('throws on %i with %s', async (status, code) => {
      const { sut, answer, seen } = build();
      answer('DELETE', WF_PATH, { status });

      await expect(sut.deleteWorkflow(WF, gated())).rejects.toMatchObject({
        code,
        details: { status, method: 'DELETE' },
      });
      expect(seen).toHaveLength(1);
    });

    it('is resent after a 429, once the window has passed', async () => {
      const { sut, answer, seen } = build();
      answer('DELETE', WF_PATH, { status: 429, headers: { 'retry-after': '4' } }, { status: 200 });

      await expect(sut.deleteWorkflow(WF, gated())).resolves.toBeUndefined();
      expect(seen.map((r) => r.at - T0)).toEqual([0, 4000]);
    });
  });

  describe('rate limits', () => {
    it('sends nothing before Retry-After has passed after a 429', async () => {
      const { sut, answer, seen } = build();
      answer(
        'GET',
        WF_PATH,
        { status: 429, headers: { 'retry-after': '7', 'x-ratelimit-reset': '30' } },
        { status: 200, body: buildWorkflow() },
      );

      await expect(sut.getWorkflow(WF)).resolves.toEqual(buildWorkflow());
      expect(seen.map((r) => r.at - T0)).toEqual([0, 7000]);
    });

    it('holds back every other caller of the client too', async () => {
      const { sut, answer, seen } = build({ maxAttempts: 1 });
      answer('GET', WF_PATH, { status: 429, headers: { 'retry-after': '7' } });
      answer('POST', `${WF_PATH}/cancel`, { status: 200 });

      await expect(sut.getWorkflow(WF)).rejects.toMatchObject({
        code: 'UPSTREAM_RATE_LIMITED',
        retryable: true,
      });
      await expect(sut.cancelWorkflow(WF, gated())).resolves.toBe('cancelled');
      expect(seen.map((r) => [r.method, r.at - T0])).toEqual([
        ['GET', 0],
        ['POST', 7000],
      ]);
    });

    it('waits for X-RateLimit-Reset as a Unix timestamp when a 429 has no Retry-After', async () => {
      const { sut, answer, seen } = build();
      answer(
        'GET',
        WF_PATH,
        { status: 429, headers: { 'x-ratelimit-reset': String(T0 / 1000 + 30) } },
        { status: 200, body: {} },
      );

      await expect(sut.getWorkflow(WF)).resolves.toEqual({});
      expect(seen.map((r) => r.at - T0)).toEqual([0, 30_000]);
    });

    it('waits for X-RateLimit-Reset as seconds from now when a 429 has no Retry-After', async () => {
      const { sut, answer, seen } = build();
      answer(
        'GET',
        WF_PATH,
        { status: 429, headers: { 'x-ratelimit-reset': '12' } },
        { status: 200, body: {} },
      );

      await expect(sut.getWorkflow(WF)).resolves.toEqual({});
      expect(seen.map((r) => r.at - T0)).toEqual([0, 12_000]);
    });

    it('waits for the reset once X-RateLimit-Remaining reaches 0', async () => {
      const { sut, answer, seen } = build();
      const meta = (p: number) => ({ page: p, limit: 100, total: 150, totalPages: 2 });
      answer('GET', page(1), {
        status: 200,
        body: { data: [buildLead()], meta: meta(1) },
        headers: { 'x-ratelimit-limit': '150', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '5' },
      });
      answer('GET', page(2), { status: 200, body: { data: [buildLead()], meta: meta(2) } });

      await expect(collect(sut.pages(WF, 'leads'))).resolves.toHaveLength(2);
      expect(seen.map((r) => r.at - T0)).toEqual([0, 5000]);
    });

    it('fails retryably, sending nothing more, when the wait exceeds maxRateLimitWaitMs', async () => {
      const { sut, answer, seen } = build({ maxRateLimitWaitMs: 10_000 });
      answer('GET', WF_PATH, { status: 429, headers: { 'retry-after': '60' } }, { status: 200, body: {} });

      await expect(sut.getWorkflow(WF)).rejects.toMatchObject({
        code: 'UPSTREAM_RATE_LIMITED',
        retryable: true,
        details: { method: 'GET', path: WF_PATH },
      });
      expect(seen).toHaveLength(1);
    });

    it('gives up with UPSTREAM_RATE_LIMITED after maxAttempts 429s in a row', async () => {
      const { sut, answer, seen } = build({ maxAttempts: 3 });
      answer(
        'GET',
        WF_PATH,
        ...Array.from({ length: 4 }, () => ({ status: 429, headers: { 'retry-after': '1' } })),
      );

      await expect(sut.getWorkflow(WF)).rejects.toMatchObject({
        code: 'UPSTREAM_RATE_LIMITED',
        retryable: true,
      });
      expect(seen).toHaveLength(3);
    });
  });

  describe('probe', () => {
    const PROBE = '/v1/workflows/readyz-probe';

    it('resolves on 404: reachable, key accepted', async () => {
      const { sut, answer } = build();
      answer('GET', PROBE, { status: 404, body: { statusCode: 404, message: 'Not Found' } });

      await expect(sut.probe()).resolves.toBeUndefined();
    });

    it('throws UPSTREAM_UNAUTHORIZED on 401', async () => {
      const { sut, answer } = build();
      answer('GET', PROBE, { status: 401 });

      await expect(sut.probe()).rejects.toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED' });
    });

    it('throws UPSTREAM_UNAVAILABLE on 5xx or a network error, without retrying', async () => {
      const { sut, answer, fail, seen } = build();
      answer('GET', PROBE, { status: 503 });
      fail('GET', PROBE, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

      await expect(sut.probe()).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      await expect(sut.probe()).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(seen).toHaveLength(2);
    });
  });

  describe('close', () => {
    it('closes the pool it created, once', async () => {
      const sut = DialnexaClient.create(buildConfig());

      await expect(sut.close()).resolves.toBeUndefined();
      await expect(sut.onApplicationShutdown()).resolves.toBeUndefined();
    });
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** The rejection of a promise that must reject (the test fails when it resolves). */
async function settle(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/** Everything an error could reveal: message, stack, code, details and its causes. */
function serialize(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; depth++) {
    if (e instanceof Error) {
      parts.push(
        e.message,
        e.stack ?? '',
        JSON.stringify(e),
        JSON.stringify((e as { details?: unknown }).details ?? {}),
      );
      e = e.cause;
    } else {
      parts.push(JSON.stringify(e) ?? typeof e);
      e = undefined;
    }
  }
  return parts.join('\n');
}
