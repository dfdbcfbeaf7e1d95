/* eslint-disable jest/no-conditional-expect -- nullable fields are matched as null or by pattern inside one toEqual */
/**
 * The DialNexa simulator over real HTTP. It is the only stand-in the project's tests use, so
 * these tests pin it to the contract in dialnexa-api.md: if the simulator drifts, every test
 * built on it proves less.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_API_KEY, DialnexaSimulator, toWireJson } from '../simulator/dialnexa-simulator.ts';
import type { DialnexaSimulatorOptions, ServedBodies } from '../simulator/dialnexa-simulator.ts';
import { HOSTILE_KEYS, HOSTILE_NUMBERS, HOSTILE_STRINGS } from '../simulator/hostile-values.ts';

// Response bodies are arbitrary JSON; the assertions below are the type checks.

type Json = any;

interface Reply {
  status: number;
  headers: Headers;
  body: Json;
  /** The body as sent: JSON.parse hides how -0, U+2028 or a lone surrogate was written. */
  text: string;
}

interface CallOptions {
  method?: string;
  /** null sends no Authorization header. */
  key?: string | null;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

const ID = /^[a-z]+_[0-9a-z]{12}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const NODE_TYPES = [
  'VOICE_CALL',
  'TIME',
  'CONDITIONAL',
  'APPLICATION',
  'CONVERTED',
  'DROPPED',
  'WEBHOOK',
  'SMS',
];
const TERMINAL = new Set(['CONVERTED', 'DROPPED']);
const TRANSIT = new Set(['pending', 'in_progress', 'active']);

describe(DialnexaSimulator.name, () => {
  let sut: DialnexaSimulator;

  async function startSimulator(options: DialnexaSimulatorOptions = {}): Promise<void> {
    await sut.stop();
    sut = new DialnexaSimulator({
      rateLimit: { limit: 10_000, windowMs: 60_000 },
      settleMs: 150,
      ...options,
    });
    await sut.start();
  }

  async function call(path: string, options: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? DEFAULT_API_KEY : options.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${sut.url}${path}`, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? undefined : JSON.parse(text),
      text,
    };
  }

  async function allPages(path: string, limit = 100): Promise<Json[]> {
    const items: Json[] = [];
    const separator = path.includes('?') ? '&' : '?';
    for (let page = 1; ; page++) {
      const reply = await call(`${path}${separator}page=${page}&limit=${limit}`);
      expect(reply.status).toBe(200);
      items.push(...reply.body.data);
      if (page >= reply.body.meta.totalPages) return items;
    }
  }

  function isInTransit(lead: Json, nodeTypes: Map<string, string>): boolean {
    const type = nodeTypes.get(lead.current_node_id);
    return TRANSIT.has(lead.status) && type !== undefined && !TERMINAL.has(type);
  }

  async function nodeTypesOf(id: string): Promise<Map<string, string>> {
    const nodes = await allPages(`/v1/workflows/${id}/nodes`);
    return new Map(nodes.map((node) => [node.id as string, node.node_type as string]));
  }

  beforeEach(async () => {
    sut = new DialnexaSimulator({ rateLimit: { limit: 10_000, windowMs: 60_000 }, settleMs: 150 });
    await sut.start();
  });

  afterEach(async () => {
    await sut.stop();
  });

  describe('GET /v1/workflows/:id', () => {
    it('serves the documented snake_case workflow', async () => {
      const id = sut.addWorkflow({ nodes: 5, edges: 6, leads: 420 });

      const reply = await call(`/v1/workflows/${id}`);

      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.body).toEqual({
        id,
        organization_id: sut.defaultOrgId,
        name: expect.any(String),
        title: expect.any(String),
        description: reply.body.description === null ? null : expect.any(String),
        status: 'active',
        node_count: 5,
        edge_count: 6,
        enrolled_leads: 420,
        created_at: expect.stringMatching(ISO_MS),
        updated_at: expect.stringMatching(ISO_MS),
      });
      expect(id).toMatch(/^wfl_[0-9a-z]{12}$/);
      expect(sut.defaultOrgId).toMatch(/^org_[0-9a-z]{12}$/);
    });

    it('keeps unknown extra fields on the workflow and serves unknown ones on nodes, edges and leads', async () => {
      const id = sut.addWorkflow({
        nodes: 6,
        extraFields: { priority: 'high', tags: ['q2'], created_by: 'usr_1' },
      });

      const workflow = await call(`/v1/workflows/${id}`);
      const nodes = await call(`/v1/workflows/${id}/nodes`);
      const edges = await call(`/v1/workflows/${id}/edges`);
      const leads = await call(`/v1/workflows/${id}/leads?limit=5`);

      expect(workflow.body).toMatchObject({ priority: 'high', tags: ['q2'], created_by: 'usr_1' });
      expect(nodes.body.data[0]).toHaveProperty('retry_policy');
      expect(nodes.body.data.map((node: Json) => node.node_type)).toContain('AI_SUMMARY');
      expect(edges.body.data[0]).toHaveProperty('weight');
      expect(leads.body.data[0]).toHaveProperty('lead_score');
    });

    it('serves every status a workflow can have', async () => {
      for (const status of ['draft', 'active', 'running', 'paused', 'completed', 'cancelled'] as const) {
        const id = sut.addWorkflow({ status });
        await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ status: 200, body: { status } });
      }
    });

    it('accepts a chosen id and organisation', async () => {
      await startSimulator({ apiKeys: [{ key: 'dnx_test_other', orgId: 'org_customid0001' }] });
      const id = sut.addWorkflow({ id: 'wf_custom-Id_1', orgId: 'org_customid0001' });

      const reply = await call(`/v1/workflows/${id}`, { key: 'dnx_test_other' });

      expect(reply.body).toMatchObject({ id: 'wf_custom-Id_1', organization_id: 'org_customid0001' });
      expect(() => sut.addWorkflow({ id: 'wf_custom-Id_1' })).toThrow(RangeError);
    });
  });

  describe('authentication and permissions', () => {
    it('answers 401 with the NestJS body when the key is missing or unknown', async () => {
      const id = sut.addWorkflow();
      const unauthorized = { statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' };

      await expect(call(`/v1/workflows/${id}`, { key: null })).resolves.toMatchObject({
        status: 401,
        body: unauthorized,
      });
      await expect(call(`/v1/workflows/${id}`, { key: 'dnx_live_nope' })).resolves.toMatchObject({
        status: 401,
        body: unauthorized,
      });
      await expect(
        call(`/v1/workflows/${id}`, { key: null, headers: { authorization: `Basic ${DEFAULT_API_KEY}` } }),
      ).resolves.toMatchObject({ status: 401 });
    });

    it('accepts the Bearer scheme case-insensitively and keys shaped key_id:secret', async () => {
      await startSimulator({ apiKeys: [{ key: 'key_123:s3cr3t' }] });
      const id = sut.addWorkflow();

      await expect(
        call(`/v1/workflows/${id}`, { key: null, headers: { authorization: 'bearer key_123:s3cr3t' } }),
      ).resolves.toMatchObject({ status: 200 });
    });

    it('answers 403 to GETs from a key that may not read, and to DELETE from a key that may not delete', async () => {
      await startSimulator({
        apiKeys: [
          { key: 'dnx_test_noread', canRead: false },
          { key: 'dnx_test_nodelete', canDelete: false },
        ],
      });
      const id = sut.addWorkflow({ status: 'cancelled' });
      const forbidden = { statusCode: 403, message: 'Forbidden resource', error: 'Forbidden' };

      for (const path of ['', '/nodes', '/edges', '/leads']) {
        await expect(call(`/v1/workflows/${id}${path}`, { key: 'dnx_test_noread' })).resolves.toMatchObject({
          status: 403,
          body: forbidden,
        });
      }
      await expect(call(`/v1/workflows/${id}`, { key: 'dnx_test_nodelete' })).resolves.toMatchObject({
        status: 200,
      });
      await expect(
        call(`/v1/workflows/${id}`, { method: 'DELETE', key: 'dnx_test_nodelete' }),
      ).resolves.toMatchObject({
        status: 403,
        body: forbidden,
      });
      expect(sut.exists(id)).toBe(true);
    });

    it("answers 404 for another organisation's workflow", async () => {
      await startSimulator({
        apiKeys: [
          { key: 'dnx_test_a', orgId: 'org_aaaaaaaaaaaa' },
          { key: 'dnx_test_b', orgId: 'org_bbbbbbbbbbbb' },
        ],
      });
      const id = sut.addWorkflow({ orgId: 'org_aaaaaaaaaaaa', status: 'cancelled', inTransitLeads: 0 });

      for (const [method, path] of [
        ['GET', ''],
        ['GET', '/nodes'],
        ['GET', '/leads'],
        ['POST', '/cancel'],
        ['DELETE', ''],
      ] as const) {
        await expect(
          call(`/v1/workflows/${id}${path}`, { method, key: 'dnx_test_b' }),
        ).resolves.toMatchObject({
          status: 404,
          body: { statusCode: 404, message: 'Workflow not found', error: 'Not Found' },
        });
      }
      expect(sut.exists(id)).toBe(true);
      await expect(call(`/v1/workflows/${id}`, { key: 'dnx_test_a' })).resolves.toMatchObject({
        status: 200,
      });
    });
  });

  describe('rate limits', () => {
    it('sends the rate-limit headers on every answer, errors included', async () => {
      await startSimulator({ rateLimit: { limit: 50, windowMs: 60_000 } });
      const id = sut.addWorkflow();

      const replies = [
        await call(`/v1/workflows/${id}`),
        await call(`/v1/workflows/${id}`, { key: 'dnx_test_unknown' }),
        await call('/v1/workflows/wfl_missing00000'),
        await call(`/v1/workflows/${id}/leads?limit=500`),
        await call(`/v1/workflows/${id}`, { method: 'DELETE' }),
        await call('/v1/nothing-here'),
      ];

      expect(replies.map((reply) => reply.status)).toEqual([200, 401, 404, 400, 409, 404]);
      for (const reply of replies) {
        expect(reply.headers.get('x-ratelimit-limit')).toBe('50');
        expect(reply.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
        expect(Number(reply.headers.get('x-ratelimit-reset'))).toBeGreaterThan(1e9);
      }
    });

    it('counts down per key in a fixed window and answers 429 with Retry-After when exhausted', async () => {
      await startSimulator({
        apiKeys: [{ key: 'dnx_test_one' }, { key: 'dnx_test_two' }],
        rateLimit: { limit: 3, windowMs: 60_000 },
      });
      const id = sut.addWorkflow();
      const before = Math.floor(Date.now() / 1000);

      const remaining: Array<string | null> = [];
      for (let i = 0; i < 3; i++) {
        remaining.push(
          (await call(`/v1/workflows/${id}`, { key: 'dnx_test_one' })).headers.get('x-ratelimit-remaining'),
        );
      }
      const throttled = await call(`/v1/workflows/${id}`, { key: 'dnx_test_one' });
      const otherKey = await call(`/v1/workflows/${id}`, { key: 'dnx_test_two' });

      expect(remaining).toEqual(['2', '1', '0']);
      expect(throttled.status).toBe(429);
      expect(throttled.body).toEqual({
        statusCode: 429,
        message: 'ThrottlerException: Too Many Requests',
        error: 'Too Many Requests',
      });
      expect(throttled.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
      expect(Number(throttled.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(throttled.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(throttled.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(before + 59);
      expect(otherKey.status).toBe(200);
    });

    it('opens a new window once the old one has passed', async () => {
      await startSimulator({ rateLimit: { limit: 1, windowMs: 300 } });
      const id = sut.addWorkflow();

      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ status: 200 });
      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ status: 429 });
      await sleep(350);
      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ status: 200 });
    });

    it('can send X-RateLimit-Reset as seconds until reset, as seen live', async () => {
      await startSimulator({ rateLimit: { limit: 1, windowMs: 30_000, resetHeader: 'seconds' } });
      const id = sut.addWorkflow();

      const first = await call(`/v1/workflows/${id}`);
      const throttled = await call(`/v1/workflows/${id}`);

      expect(Number(first.headers.get('x-ratelimit-reset'))).toBeLessThanOrEqual(30);
      expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(29);
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers.get('x-ratelimit-reset'))).toBeLessThan(1e9);
    });

    it('defaults to 150 requests a minute', async () => {
      await sut.stop();
      sut = new DialnexaSimulator();
      await sut.start();
      const id = sut.addWorkflow();

      const reply = await call(`/v1/workflows/${id}`);

      expect(reply.headers.get('x-ratelimit-limit')).toBe('150');
      expect(reply.headers.get('x-ratelimit-remaining')).toBe('149');
    });
  });

  describe('pagination', () => {
    it('defaults to page 1 of 20 and reports meta', async () => {
      const id = sut.addWorkflow({ leads: 45 });

      const reply = await call(`/v1/workflows/${id}/leads`);

      expect(reply.body.data).toHaveLength(20);
      expect(reply.body.meta).toEqual({ page: 1, limit: 20, total: 45, totalPages: 3 });
    });

    it('walks every lead exactly once across pages, in a stable order', async () => {
      const id = sut.addWorkflow({ leads: 420 });

      const leads = await allPages(`/v1/workflows/${id}/leads`);
      const again = await allPages(`/v1/workflows/${id}/leads`, 7);

      expect(leads).toHaveLength(420);
      expect(new Set(leads.map((lead) => lead.id)).size).toBe(420);
      expect(again).toEqual(leads);
    });

    it('answers an empty page with meta past the end', async () => {
      const id = sut.addWorkflow({ leads: 150 });

      const reply = await call(`/v1/workflows/${id}/leads?page=3&limit=100`);

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ data: [], meta: { page: 3, limit: 100, total: 150, totalPages: 2 } });
    });

    it.each([
      ['limit=101', ['limit must not be greater than 100']],
      ['limit=0', ['limit must not be less than 1']],
      ['page=0', ['page must not be less than 1']],
      ['page=abc', ['page must be an integer number']],
      ['limit=2.5', ['limit must be an integer number']],
      ['page=1&page=2', ['page must be an integer number']],
      ['page=-1&limit=1000', ['page must not be less than 1', 'limit must not be greater than 100']],
    ])('answers 400 with an array message for %s', async (query, messages) => {
      const id = sut.addWorkflow();

      for (const list of ['leads', 'nodes', 'edges']) {
        await expect(call(`/v1/workflows/${id}/${list}?${query}`)).resolves.toMatchObject({
          status: 400,
          body: { statusCode: 400, message: messages, error: 'Bad Request' },
        });
      }
    });

    it('accepts limit=100', async () => {
      const id = sut.addWorkflow({ leads: 150 });

      await expect(call(`/v1/workflows/${id}/leads?limit=100`)).resolves.toMatchObject({
        status: 200,
        body: { meta: { page: 1, limit: 100, total: 150, totalPages: 2 } },
      });
    });

    it('filters leads by status, and rejects an unknown status', async () => {
      const id = sut.addWorkflow({ leads: 300 });
      const leads = await allPages(`/v1/workflows/${id}/leads`);

      for (const status of ['pending', 'in_progress', 'completed', 'removed', 'failed', 'active']) {
        const filtered = await allPages(`/v1/workflows/${id}/leads?status=${status}`);
        expect(filtered).toEqual(leads.filter((lead) => lead.status === status));
      }
      await expect(call(`/v1/workflows/${id}/leads?status=gone`)).resolves.toMatchObject({
        status: 400,
        body: { message: [expect.stringContaining('status must be one of')] },
      });
    });

    it('shifts items between pages when leads change while a client pages (live data)', async () => {
      const id = sut.addWorkflow({ leads: 30 });
      const firstPage = await call(`/v1/workflows/${id}/leads?page=1&limit=10`);
      const secondBefore = await call(`/v1/workflows/${id}/leads?page=2&limit=10`);

      expect(sut.deleteLead(id, firstPage.body.data[0].id)).toBe(true);
      const secondAfter = await call(`/v1/workflows/${id}/leads?page=2&limit=10`);
      const enrolled = sut.enrollLeads(id, 3);
      const last = await call(`/v1/workflows/${id}/leads?page=4&limit=10`);

      expect(secondAfter.body.data[0].id).toBe(secondBefore.body.data[1].id);
      expect(secondAfter.body.meta.total).toBe(29);
      expect(last.body.meta.total).toBe(32);
      expect(last.body.data.map((lead: Json) => lead.id)).toEqual(enrolled.slice(1));
      expect(last.body.data[0]).toMatchObject({ status: 'pending' });
      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ body: { enrolled_leads: 32 } });
    });

    it('serves a million leads lazily', async () => {
      const id = sut.addWorkflow({ leads: 1_000_000 });

      const reply = await call(`/v1/workflows/${id}/leads?page=10000&limit=100`);

      expect(reply.body.meta).toEqual({ page: 10000, limit: 100, total: 1_000_000, totalPages: 10_000 });
      expect(reply.body.data).toHaveLength(100);
      expect(new Set(reply.body.data.map((lead: Json) => lead.id)).size).toBe(100);
      await expect(
        call(`/v1/workflows/${id}/leads/${reply.body.data[99].id}/history`),
      ).resolves.toMatchObject({
        status: 200,
      });
    });
  });

  describe('nodes and edges', () => {
    it('serves nodes of documented types, terminal ones included, with positions and config', async () => {
      const id = sut.addWorkflow({ nodes: 8, edges: 10 });

      const nodes = await allPages(`/v1/workflows/${id}/nodes`, 3);

      expect(nodes).toHaveLength(8);
      for (const node of nodes) {
        expect(node).toEqual({
          id: expect.stringMatching(/^node_[0-9a-z]{12}$/),
          workflow_id: id,
          node_type: expect.any(String),
          label: expect.any(String),
          position_x: expect.any(Number),
          position_y: expect.any(Number),
          config: expect.any(Object),
        });
        expect(NODE_TYPES).toContain(node.node_type);
      }
      const types = nodes.map((node) => node.node_type);
      expect(types).toEqual(expect.arrayContaining(['VOICE_CALL', 'CONVERTED', 'DROPPED']));
      expect(nodes.find((node) => node.node_type === 'VOICE_CALL').config).toEqual({
        agent_id: expect.stringMatching(/^agent_[0-9a-z]{12}$/),
        from_phone_number: expect.stringMatching(/^\+1415555\d{4}$/),
        notes: expect.any(String),
        variables: expect.any(Object),
      });
    });

    it('serves edges between the workflow nodes, with an optional label', async () => {
      const id = sut.addWorkflow({ nodes: 6, edges: 12 });
      const nodeIds = new Set((await allPages(`/v1/workflows/${id}/nodes`)).map((node) => node.id));

      const edges = await allPages(`/v1/workflows/${id}/edges`, 5);

      expect(edges).toHaveLength(12);
      for (const edge of edges) {
        expect(edge.id).toMatch(/^edge_[0-9a-z]{12}$/);
        expect(edge.workflow_id).toBe(id);
        expect(nodeIds.has(edge.from_node_id)).toBe(true);
        expect(nodeIds.has(edge.to_node_id)).toBe(true);
      }
      expect(edges.some((edge) => typeof edge.label === 'string')).toBe(true);
      expect(edges.some((edge) => !('label' in edge))).toBe(true);
    });

    it('serves the whole list without meta when nodes are not paginated', async () => {
      const id = sut.addWorkflow({ nodes: 30, edges: 40, paginateNodes: false });

      const nodes = await call(`/v1/workflows/${id}/nodes?limit=5`);
      const edges = await call(`/v1/workflows/${id}/edges`);

      expect(nodes.body.meta).toBeUndefined();
      expect(nodes.body.data).toHaveLength(30);
      expect(edges.body.meta).toBeUndefined();
      expect(edges.body.data).toHaveLength(40);
    });

    it('rejects a graph with edges but no nodes', () => {
      expect(() => sut.addWorkflow({ nodes: 0, edges: 1 })).toThrow(RangeError);
    });
  });

  describe('leads', () => {
    it('serves the documented lead fields', async () => {
      const id = sut.addWorkflow({ leads: 50 });
      const nodeTypes = await nodeTypesOf(id);

      const leads = await allPages(`/v1/workflows/${id}/leads`);

      for (const lead of leads) {
        expect(lead).toEqual({
          id: expect.stringMatching(/^wlead_[0-9a-z]{12}$/),
          workflow_id: id,
          phone_number: expect.stringMatching(/^\+1415555\d{4}$/),
          metadata: expect.objectContaining({ first_name: expect.any(String) }),
          status: expect.stringMatching(/^(pending|in_progress|completed|removed|failed|active)$/),
          current_node_id: expect.any(String),
          entered_node_at: expect.stringMatching(ISO_MS),
          release_at: lead.release_at === null ? null : expect.stringMatching(ISO_MS),
          call_id: lead.call_id === null ? null : expect.stringMatching(/^call_[0-9a-z]{12}$/),
          enrolled_at: expect.stringMatching(ISO_MS),
          created_at: expect.stringMatching(ISO_MS),
        });
        expect(nodeTypes.has(lead.current_node_id)).toBe(true);
      }
    });

    it('puts exactly inTransitLeads leads in transit, by default about 10%', async () => {
      const chosen = sut.addWorkflow({ leads: 200, inTransitLeads: 37 });
      const defaulted = sut.addWorkflow({ leads: 200 });
      const draft = sut.addWorkflow({ leads: 200, status: 'draft' });

      for (const [id, expected] of [
        [chosen, 37],
        [defaulted, 20],
        [draft, 0],
      ] as const) {
        const nodeTypes = await nodeTypesOf(id);
        const leads = await allPages(`/v1/workflows/${id}/leads`);
        expect(leads.filter((lead) => isInTransit(lead, nodeTypes))).toHaveLength(expected);
        expect(sut.leadsInTransit(id)).toBe(expected);
      }
    });

    it('serves some live-status leads on terminal nodes, which are not in transit', async () => {
      const id = sut.addWorkflow({ leads: 2000, inTransitLeads: 0 });
      const nodeTypes = await nodeTypesOf(id);

      const leads = await allPages(`/v1/workflows/${id}/leads`);

      expect(
        leads.some((lead) => TRANSIT.has(lead.status) && TERMINAL.has(nodeTypes.get(lead.current_node_id)!)),
      ).toBe(true);
      expect(leads.filter((lead) => isInTransit(lead, nodeTypes))).toHaveLength(0);
    });

    it('serves a deterministic per-lead history ending at the current node', async () => {
      const id = sut.addWorkflow({ leads: 40 });
      const leads = await allPages(`/v1/workflows/${id}/leads`);

      for (const lead of leads.slice(0, 10)) {
        const reply = await call(`/v1/workflows/${id}/leads/${lead.id}/history`);
        const again = await call(`/v1/workflows/${id}/leads/${lead.id}/history`);
        expect(reply.status).toBe(200);
        expect(again.body).toEqual(reply.body);
        expect(reply.body).toMatchObject({ id: lead.id, workflow_id: id });
        const last = reply.body.history.at(-1);
        expect(last).toMatchObject({
          node_id: lead.current_node_id,
          status: lead.status,
          entered_at: lead.entered_node_at,
        });
        for (const entry of reply.body.history) {
          expect(entry).toEqual({
            node_id: expect.stringMatching(/^node_/),
            node_label: expect.any(String),
            node_type: expect.any(String),
            status: expect.any(String),
            call_id: entry.call_id === null ? null : expect.stringMatching(/^call_/),
            entered_at: expect.stringMatching(ISO_MS),
            exited_at: entry.exited_at === null ? null : expect.stringMatching(ISO_MS),
          });
        }
      }
    });

    it('answers 404 for the history of an unknown lead', async () => {
      const id = sut.addWorkflow({ leads: 5 });
      const other = sut.addWorkflow({ leads: 5 });
      const foreignLead = (await call(`/v1/workflows/${other}/leads`)).body.data[0].id;

      for (const leadId of ['wlead_000000000000', foreignLead, 'not*valid']) {
        await expect(
          call(`/v1/workflows/${id}/leads/${encodeURIComponent(leadId)}/history`),
        ).resolves.toMatchObject({
          status: 404,
          body: { statusCode: 404, error: 'Not Found' },
        });
      }
    });
  });

  describe('POST /v1/workflows/:id/cancel', () => {
    it.each(['draft', 'active', 'running', 'paused'] as const)('cancels a %s workflow', async (status) => {
      const id = sut.addWorkflow({ status });

      const reply = await call(`/v1/workflows/${id}/cancel`, { method: 'POST' });

      expect(reply).toMatchObject({ status: 200, body: { id, status: 'cancelled' } });
      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ body: { status: 'cancelled' } });
    });

    it.each(['completed', 'cancelled'] as const)('answers 409 for a %s workflow', async (status) => {
      const id = sut.addWorkflow({ status });

      await expect(call(`/v1/workflows/${id}/cancel`, { method: 'POST' })).resolves.toMatchObject({
        status: 409,
        body: { statusCode: 409, message: `Workflow is already ${status}.`, error: 'Conflict' },
      });
    });

    it('answers 409 to a second cancel', async () => {
      const id = sut.addWorkflow();

      await expect(call(`/v1/workflows/${id}/cancel`, { method: 'POST' })).resolves.toMatchObject({
        status: 200,
      });
      await expect(call(`/v1/workflows/${id}/cancel`, { method: 'POST' })).resolves.toMatchObject({
        status: 409,
        body: { statusCode: 409, message: 'Workflow is already cancelled.', error: 'Conflict' },
      });
    });

    it('keeps leads in transit for settleMs after the cancel, then settles them', async () => {
      await startSimulator({ settleMs: 400 });
      const id = sut.addWorkflow({ leads: 100, inTransitLeads: 12 });
      const nodeTypes = await nodeTypesOf(id);
      const before = await allPages(`/v1/workflows/${id}/leads`);
      const inTransitIds = before.filter((lead) => isInTransit(lead, nodeTypes)).map((lead) => lead.id);

      await call(`/v1/workflows/${id}/cancel`, { method: 'POST' });
      const during = await allPages(`/v1/workflows/${id}/leads`);
      await sleep(450);
      const after = await allPages(`/v1/workflows/${id}/leads`);

      expect(inTransitIds).toHaveLength(12);
      expect(during.filter((lead) => isInTransit(lead, nodeTypes))).toHaveLength(12);
      expect(after.filter((lead) => isInTransit(lead, nodeTypes))).toHaveLength(0);
      for (const lead of after.filter((candidate) => inTransitIds.includes(candidate.id))) {
        expect(['removed', 'completed']).toContain(lead.status);
        expect(lead.release_at).toBeNull();
      }
      // Settling changes nothing but the in-transit leads.
      const unchanged = (leads: Json[]): Json[] => leads.filter((lead) => !inTransitIds.includes(lead.id));
      expect(unchanged(after)).toEqual(unchanged(before));
      expect(sut.leadsInTransit(id)).toBe(0);
    });

    it('leaves paused leads in transit until a cancel settles them', async () => {
      const id = sut.addWorkflow({ leads: 50, inTransitLeads: 5 });

      await expect(call(`/v1/workflows/${id}/pause`, { method: 'POST' })).resolves.toMatchObject({
        status: 200,
      });
      await sleep(200);
      expect(sut.leadsInTransit(id)).toBe(5);
    });
  });

  describe('POST /v1/workflows/:id/pause', () => {
    it.each(['active', 'running'] as const)('pauses a %s workflow', async (status) => {
      const id = sut.addWorkflow({ status });

      await expect(call(`/v1/workflows/${id}/pause`, { method: 'POST' })).resolves.toMatchObject({
        status: 200,
        body: { id, status: 'paused' },
      });
      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ body: { status: 'paused' } });
    });

    it.each(['draft', 'paused', 'completed', 'cancelled'] as const)(
      'answers 409 for a %s workflow',
      async (status) => {
        const id = sut.addWorkflow({ status });

        await expect(call(`/v1/workflows/${id}/pause`, { method: 'POST' })).resolves.toMatchObject({
          status: 409,
          body: { statusCode: 409, message: expect.any(String), error: 'Conflict' },
        });
      },
    );
  });

  describe('DELETE /v1/workflows/:id', () => {
    it.each(['active', 'running'] as const)('answers 409 while the workflow is %s', async (status) => {
      const id = sut.addWorkflow({ status });

      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE' })).resolves.toMatchObject({
        status: 409,
        body: { statusCode: 409, message: 'Workflow is still active. Cancel it first.', error: 'Conflict' },
      });
      expect(sut.exists(id)).toBe(true);
    });

    it('answers 409 while leads are in transit, and deletes once they settled', async () => {
      const id = sut.addWorkflow({ leads: 100, inTransitLeads: 3 });
      await call(`/v1/workflows/${id}/cancel`, { method: 'POST' });

      const early = await call(`/v1/workflows/${id}`, { method: 'DELETE' });
      await sleep(200);
      const settled = await call(`/v1/workflows/${id}`, { method: 'DELETE' });

      expect(early).toMatchObject({
        status: 409,
        body: {
          statusCode: 409,
          message: 'Workflow has leads in transit. Wait for them to settle.',
          error: 'Conflict',
        },
      });
      expect(settled).toMatchObject({ status: 200, body: { message: 'Workflow deleted.' } });
    });

    it('answers 409 for a paused workflow with leads in transit, and deletes one without', async () => {
      const busy = sut.addWorkflow({ status: 'paused', leads: 10, inTransitLeads: 1 });
      const idle = sut.addWorkflow({ status: 'paused', leads: 10, inTransitLeads: 0 });

      await expect(call(`/v1/workflows/${busy}`, { method: 'DELETE' })).resolves.toMatchObject({
        status: 409,
      });
      await expect(call(`/v1/workflows/${idle}`, { method: 'DELETE' })).resolves.toMatchObject({
        status: 200,
      });
    });

    it('removes the workflow with everything under it: every endpoint then answers 404', async () => {
      const id = sut.addWorkflow({ status: 'cancelled', leads: 20 });
      const leadId = (await call(`/v1/workflows/${id}/leads`)).body.data[0].id;
      const notFound = { statusCode: 404, message: 'Workflow not found', error: 'Not Found' };

      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE' })).resolves.toMatchObject({
        status: 200,
        body: { message: 'Workflow deleted.' },
      });

      for (const [method, path] of [
        ['GET', ''],
        ['GET', '/nodes'],
        ['GET', '/edges'],
        ['GET', '/leads'],
        ['GET', `/leads/${leadId}/history`],
        ['POST', '/cancel'],
        ['POST', '/pause'],
        ['DELETE', ''],
      ] as const) {
        await expect(call(`/v1/workflows/${id}${path}`, { method })).resolves.toMatchObject({
          status: 404,
          body: notFound,
        });
      }
      expect(sut.exists(id)).toBe(false);
      expect(sut.snapshot(id)).toBeUndefined();
    });

    it('ignores Idempotency-Key: a retried DELETE answers 404', async () => {
      const id = sut.addWorkflow({ status: 'completed' });
      const headers = { 'idempotency-key': 'teardown-1' };

      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE', headers })).resolves.toMatchObject({
        status: 200,
      });
      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE', headers })).resolves.toMatchObject({
        status: 404,
      });
    });
  });

  describe('routing', () => {
    it('answers 404 like NestJS for unknown routes and wrong methods', async () => {
      const id = sut.addWorkflow();

      for (const [method, path] of [
        ['GET', '/v1/nothing'],
        ['GET', '/v1/workflows'],
        ['DELETE', `/v1/workflows/${id}/nodes`],
        ['PUT', `/v1/workflows/${id}`],
        ['GET', `/v1/workflows/${id}/cancel`],
        ['POST', `/v1/workflows/${id}/delete`],
      ]) {
        await expect(call(path!, { method })).resolves.toMatchObject({
          status: 404,
          body: { statusCode: 404, message: `Cannot ${method} ${path}`, error: 'Not Found' },
        });
      }
    });

    it('answers 404 for ids that fail the sanity check', async () => {
      for (const id of ['wfl_bad%21', 'a'.repeat(65), 'wfl%20x', '%E0%A4%A']) {
        await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({
          status: 404,
          body: { statusCode: 404, message: 'Workflow not found', error: 'Not Found' },
        });
      }
    });

    it('tolerates a trailing slash and other id prefixes', async () => {
      const id = sut.addWorkflow({ id: 'workflow_abcdefghijkl' });

      await expect(call(`/v1/workflows/${id}/`)).resolves.toMatchObject({ status: 200, body: { id } });
    });
  });

  describe('envelope flavour', () => {
    it('wraps successes and uses camelCase timestamps, leaving errors in the NestJS shape', async () => {
      await startSimulator({ envelope: true });
      const id = sut.addWorkflow({ leads: 5, status: 'active' });

      const workflow = await call(`/v1/workflows/${id}`);
      const leads = await call(`/v1/workflows/${id}/leads`);
      const history = await call(`/v1/workflows/${id}/leads/${leads.body.data.data[0].id}/history`);
      const conflict = await call(`/v1/workflows/${id}`, { method: 'DELETE' });
      const cancel = await call(`/v1/workflows/${id}/cancel`, { method: 'POST' });

      expect(workflow.body).toMatchObject({
        statusCode: 200,
        message: 'Success',
        data: { id, status: 'active' },
      });
      expect(workflow.body.data.createdAt).toMatch(ISO_MS);
      expect(workflow.body.data).not.toHaveProperty('created_at');
      expect(leads.body.data.meta).toEqual({ page: 1, limit: 20, total: 5, totalPages: 1 });
      expect(leads.body.data.data[0]).toHaveProperty('enrolledAt');
      expect(leads.body.data.data[0]).toHaveProperty('workflow_id', id);
      expect(history.body.data.history[0]).toHaveProperty('enteredAt');
      expect(conflict.body).toEqual({
        statusCode: 409,
        message: 'Workflow is still active. Cancel it first.',
        error: 'Conflict',
      });
      expect(cancel.body).toEqual({ statusCode: 200, message: 'Success', data: { id, status: 'cancelled' } });
      expect(sut.snapshot(id)!.workflow).toHaveProperty('updatedAt');
    });
  });

  describe('hostile values', () => {
    const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;
    const parsedFromWire = (value: unknown): Json => JSON.parse(toWireJson(value));

    function depthOf(value: unknown): number {
      if (value === null || typeof value !== 'object') return 0;
      return 1 + Math.max(0, ...Object.values(value).map(depthOf));
    }

    function expectCatalogue(catalogue: Json): void {
      expect(catalogue.strings).toEqual(HOSTILE_STRINGS);
      expect(Object.getPrototypeOf(catalogue.keys)).toBe(Object.prototype);
      expect(Object.keys(catalogue.keys).sort()).toEqual([...HOSTILE_KEYS].sort());
      expect(Object.hasOwn(catalogue.keys, '__proto__')).toBe(true);
      expect(catalogue.numbers).toEqual(parsedFromWire(HOSTILE_NUMBERS));
      expect(Object.is(catalogue.numbers[0], -0)).toBe(true);
      expect(depthOf(catalogue.nested)).toBeGreaterThanOrEqual(50);
      expect(depthOf(catalogue.nested)).toBeLessThanOrEqual(100);
    }

    it('serves them by default in workflows, nodes, edges and leads', async () => {
      const ids = Array.from({ length: 12 }, () => sut.addWorkflow({ leads: 10 }));
      const id = sut.addWorkflow({ leads: 420 });

      const workflows = await Promise.all(ids.map((wf) => call(`/v1/workflows/${wf}`)));
      const nodes = await allPages(`/v1/workflows/${id}/nodes`);
      const edges = (await Promise.all(ids.map((wf) => allPages(`/v1/workflows/${wf}/edges`)))).flat();
      const leads = await allPages(`/v1/workflows/${id}/leads`);

      for (const workflow of workflows) {
        expect(workflow.body.name).toMatch(NOT_PRINTABLE_ASCII);
        expect(workflow.body.title).toBe(workflow.body.name);
      }
      expect(workflows.some((workflow) => (workflow.body.description ?? '').length > 200)).toBe(true);
      expectCatalogue(nodes[0].config.variables);
      for (const node of nodes) expect(typeof node.config.notes).toBe('string');
      expect(nodes.some((node) => NOT_PRINTABLE_ASCII.test(node.label))).toBe(true);
      expect(edges.some((edge) => /^Give up/.test(edge.label ?? ''))).toBe(true);
      for (const lead of leads) expect(typeof lead.metadata.notes).toBe('string');
      expect(leads.filter((lead) => lead.metadata.crm !== undefined)).toHaveLength(53);
      expectCatalogue(leads[0].metadata.crm);
      expect(leads.map((lead) => lead.metadata.call_transcript?.length ?? 0).filter(Boolean)).toEqual([
        1 << 20,
        1 << 16,
      ]);
      expect(leads[100].metadata.call_transcript).toContain('\u2028');
      const texts = leads.flatMap((lead) => [lead.metadata.first_name, lead.metadata.last_name]);
      expect(texts.some((text) => NOT_PRINTABLE_ASCII.test(text))).toBe(true);
    });

    it('caps the long transcripts at maxTranscriptLength, and changes nothing else', async () => {
      await startSimulator({ maxTranscriptLength: 1000 });
      const id = sut.addWorkflow({ leads: 420 });
      const whole = new DialnexaSimulator({ seed: sut.seed });
      whole.addWorkflow({ leads: 420 });

      const leads = await allPages(`/v1/workflows/${id}/leads`);
      const expected = whole.snapshot(id)!.leads as Json[];

      expect(leads.map((lead) => lead.metadata.call_transcript?.length ?? 0).filter(Boolean)).toEqual([
        1000, 1000,
      ]);
      expect(leads[100].metadata.call_transcript).toBe(expected[100].metadata.call_transcript.slice(0, 1000));
      const withoutTranscripts = (items: Json[]): Json[] =>
        items.map((lead) => ({ ...lead, metadata: { ...lead.metadata, call_transcript: undefined } }));
      expect(withoutTranscripts(leads)).toEqual(withoutTranscripts(expected));
    });

    it('keeps ids, statuses, phone numbers and timestamps as the contract describes them', async () => {
      const id = sut.addWorkflow({ leads: 300, extraFields: { x: 1 } });

      const leads = await allPages(`/v1/workflows/${id}/leads`);
      const edges = await allPages(`/v1/workflows/${id}/edges`);

      for (const lead of leads) {
        expect(lead.id).toMatch(/^wlead_[0-9a-z]{12}$/);
        expect(lead.phone_number).toMatch(/^\+1415555\d{4}$/);
        expect(lead.enrolled_at).toMatch(ISO_MS);
      }
      for (const edge of edges)
        expect([edge.from_node_id, edge.to_node_id]).toEqual([
          expect.stringMatching(ID),
          expect.stringMatching(ID),
        ]);
    });

    it('writes them as JSON does, and -0 as -0', async () => {
      const id = sut.addWorkflow({ leads: 1 });

      const reply = await call(`/v1/workflows/${id}/leads`);

      // JSON.stringify leaves U+2028/U+2029 as they are and escapes NUL and lone surrogates
      expect(reply.text).toContain('\u2028');
      expect(reply.text).toContain('\\u0000');
      expect(reply.text).toContain('\\ud83d');
      expect(reply.text).toContain('"numbers":[-0,0,1e+21,');
      expect(reply.text).toContain('1E+21');
      expect(reply.text).toContain('12345678901234567890');
      expect(Buffer.from(reply.text, 'utf8').toString('utf8')).toBe(reply.text);
      expect(reply.body.data[0].metadata.crm.numbers).toContain(12345678901234567000);
    });

    it('serves exactly the bodies it was given, changing only the status a cancel changes', async () => {
      const bodies: ServedBodies = JSON.parse(
        '{"workflow": {"id": "wfl_served000001", "status": "active", "updated_at": "2024-04-01T08:00:00.000Z",' +
          ' "__proto__": {"polluted": true}, "n": -0, "big": 1E+21, "name": "x\\u2028\\ud800"},' +
          ' "nodes": [{"id": "node_a", "node_type": "VOICE_CALL", "constructor": {"": -0.0}},' +
          '           {"id": "node_b", "node_type": "CONVERTED", "config": null}],' +
          ' "edges": [{"id": "edge_a", "__proto__": null}],' +
          ' "leads": [{"id": "wlead_a", "status": "in_progress", "current_node_id": "node_a", "release_at": "soon",' +
          '            "metadata": {"__proto__": [1], "\\u0000": "\\udc00"}},' +
          '           {"id": "wlead_b", "status": "completed", "current_node_id": null, "metadata": [-0]}]}',
      );

      const id = sut.addServedWorkflow(bodies);
      const workflow = await call(`/v1/workflows/${id}`);
      const nodes = await call(`/v1/workflows/${id}/nodes`);
      const edges = await call(`/v1/workflows/${id}/edges`);
      const leads = await call(`/v1/workflows/${id}/leads`);
      const snapshot = sut.snapshot(id);
      await call(`/v1/workflows/${id}/cancel`, { method: 'POST' });
      const cancelled = await call(`/v1/workflows/${id}`);
      const during = await call(`/v1/workflows/${id}/leads`);
      await sleep(200);
      const settled = await call(`/v1/workflows/${id}/leads`);

      expect(id).toBe('wfl_served000001');
      expect(workflow.body).toEqual(bodies.workflow);
      expect(workflow.text).toContain('"n":-0');
      expect(nodes.body).toEqual({
        data: bodies.nodes,
        meta: { page: 1, limit: 20, total: 2, totalPages: 1 },
      });
      expect(edges.body.data).toEqual(bodies.edges);
      expect(leads.body.data).toEqual(bodies.leads);
      expect(snapshot).toEqual(bodies);
      expect(cancelled.body).toEqual({
        ...bodies.workflow,
        status: 'cancelled',
        updated_at: expect.stringMatching(ISO_MS),
      });
      expect(cancelled.body.updated_at).not.toBe(bodies.workflow['updated_at']);
      expect(during.body.data).toEqual(bodies.leads);
      expect(settled.body.data).toEqual([
        { ...bodies.leads[0], status: 'completed', release_at: null },
        bodies.leads[1],
      ]);
    });

    it('refuses served bodies the API could not have served', () => {
      const valid = (): ServedBodies => ({
        workflow: { id: 'wfl_served000002', status: 'active' },
        nodes: [{ id: 'node_a', node_type: 'VOICE_CALL' }],
        edges: [{ id: 'edge_a' }],
        leads: [{ id: 'wlead_a', status: 'pending', current_node_id: 'node_a' }],
      });
      const broken: Array<(bodies: ServedBodies) => void> = [
        (b) => (b.workflow['id'] = 'wfl bad'),
        (b) => (b.workflow['status'] = 'exploded'),
        (b) => b.nodes.push({ id: 'node_a', node_type: 'SMS' }),
        (b) => delete b.nodes[0]!['node_type'],
        (b) => b.edges.push({ id: 7 }),
        (b) => (b.leads[0]!['status'] = 'gone'),
        (b) => (b.leads[0]!['current_node_id'] = 'node_elsewhere'),
        (b) => b.leads.push({ id: 'wlead_a', status: 'pending', current_node_id: null }),
      ];

      for (const breakIt of broken) {
        const bodies = valid();
        breakIt(bodies);
        expect(() => sut.addServedWorkflow(bodies)).toThrow(RangeError);
      }
      expect(sut.addServedWorkflow(valid())).toBe('wfl_served000002');
      expect(() => sut.addServedWorkflow(valid())).toThrow(RangeError);
      expect(() => sut.enrollLeads('wfl_served000002', 1)).toThrow(RangeError);
    });

    it('adds a served workflow through the control API, keeping -0 and __proto__ keys', async () => {
      const text =
        '{"workflow": {"id": "wfl_served000003", "status": "paused", "__proto__": {"a": -0}},' +
        ' "nodes": [], "edges": [], "leads": [], "options": {"paginateNodes": false}}';

      const added = await fetch(`${sut.url}/__sim/served-workflows`, { method: 'POST', body: text });
      const workflow = await call(`/v1/workflows/wfl_served000003`);
      const nodes = await call(`/v1/workflows/wfl_served000003/nodes`);

      expect(added.status).toBe(201);
      expect(workflow.body).toEqual(JSON.parse(text).workflow);
      expect(workflow.text).toBe('{"id":"wfl_served000003","status":"paused","__proto__":{"a":-0}}');
      expect(nodes.body).toEqual({ data: [] });
    });
  });

  describe('determinism and snapshots', () => {
    it('generates the same data for the same seed and different data for another', async () => {
      const build = (seed: number): DialnexaSimulator => {
        const sim = new DialnexaSimulator({ seed });
        sim.addWorkflow({ leads: 30 });
        return sim;
      };
      const [a, b, c] = [build(7), build(7), build(8)];
      const idA = a.addWorkflow({ nodes: 7, leads: 60, extraFields: { x: 1 } });
      const idB = b.addWorkflow({ nodes: 7, leads: 60, extraFields: { x: 1 } });
      const idC = c.addWorkflow({ nodes: 7, leads: 60, extraFields: { x: 1 } });

      expect(idA).toBe(idB);
      expect(a.snapshot(idA)).toEqual(b.snapshot(idB));
      expect(toWireJson(a.snapshot(idA))).toBe(toWireJson(b.snapshot(idB)));
      expect(idC).not.toBe(idA);
      expect(a.defaultOrgId).not.toBe(c.defaultOrgId);
    });

    it('snapshots exactly what the API serves', async () => {
      const id = sut.addWorkflow({ nodes: 25, edges: 30, leads: 230, extraFields: { region: 'us-west' } });

      const workflow = (await call(`/v1/workflows/${id}`)).body;
      const nodes = await allPages(`/v1/workflows/${id}/nodes`, 10);
      const edges = await allPages(`/v1/workflows/${id}/edges`, 10);
      const leads = await allPages(`/v1/workflows/${id}/leads`);

      expect(sut.snapshot(id)).toEqual({ workflow, nodes, edges, leads });
    });

    it('returns a copy that tests cannot use to corrupt the served data', async () => {
      const id = sut.addWorkflow({ leads: 3 });
      const snapshot = sut.snapshot(id)!;
      snapshot.nodes[0]!.label = 'changed';

      const served = await call(`/v1/workflows/${id}/nodes`);

      expect(served.body.data[0].label).not.toBe('changed');
      expect(served.body.data).toEqual(sut.snapshot(id)!.nodes);
    });
  });

  describe('faults', () => {
    it('failNext answers 5xx bodies without performing, then recovers', async () => {
      const id = sut.addWorkflow();
      sut.faults.failNext(2, { method: 'POST', path: /\/cancel$/ });
      sut.faults.failNext(1, { status: 500 });

      const replies = [
        await call(`/v1/workflows/${id}/cancel`, { method: 'POST' }),
        await call(`/v1/workflows/${id}/cancel`, { method: 'POST' }),
        await call(`/v1/workflows/${id}`),
        await call(`/v1/workflows/${id}/cancel`, { method: 'POST' }),
      ];

      expect(replies.map((reply) => reply.status)).toEqual([503, 503, 500, 200]);
      expect(replies[0]!.body).toEqual({
        statusCode: 503,
        message: 'Service Unavailable',
        error: 'Service Unavailable',
      });
      expect(replies[2]!.body).toEqual({
        statusCode: 500,
        message: 'Internal server error',
        error: 'Internal Server Error',
      });
      expect(replies[0]!.headers.get('x-ratelimit-limit')).toBe('10000');
      expect(sut.requests.map((request) => [request.status, request.performed])).toEqual([
        [503, false],
        [503, false],
        [500, false],
        [200, true],
      ]);
    });

    it('failNext can answer 502', async () => {
      const id = sut.addWorkflow();
      sut.faults.failNext(1, { status: 502 });

      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({
        status: 502,
        body: { statusCode: 502, error: 'Bad Gateway' },
      });
    });

    it('resetNext drops the connection without performing', async () => {
      const id = sut.addWorkflow({ status: 'cancelled' });
      sut.faults.resetNext(1, { method: 'DELETE' });

      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE' })).rejects.toThrow('fetch failed');
      expect(sut.exists(id)).toBe(true);
      expect(sut.requests).toEqual([
        expect.objectContaining({ method: 'DELETE', status: 0, performed: false }),
      ]);
      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE' })).resolves.toMatchObject({ status: 200 });
    });

    it('dropAfterPerformNext performs the operation and loses the answer', async () => {
      const id = sut.addWorkflow({ status: 'paused', inTransitLeads: 0 });
      sut.faults.dropAfterPerformNext(1, { method: 'POST', path: /\/cancel$/ });

      await expect(call(`/v1/workflows/${id}/cancel`, { method: 'POST' })).rejects.toThrow('fetch failed');
      expect(sut.snapshot(id)!.workflow.status).toBe('cancelled');
      expect(sut.requests).toEqual([expect.objectContaining({ status: 0, performed: true })]);

      sut.faults.dropAfterPerformNext(1, { method: 'DELETE' });
      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE' })).rejects.toThrow('fetch failed');
      expect(sut.exists(id)).toBe(false);
      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE' })).resolves.toMatchObject({ status: 404 });
    });

    it('rateLimitNext answers 429 with Retry-After', async () => {
      const id = sut.addWorkflow();
      sut.faults.rateLimitNext(1, { path: /\/leads$/ });
      sut.faults.rateLimitNext(1, { retryAfterS: 7 });

      const leads = await call(`/v1/workflows/${id}/leads`);
      const workflow = await call(`/v1/workflows/${id}`);

      expect(leads.status).toBe(429);
      expect(leads.headers.get('retry-after')).toBe('2');
      expect(leads.body).toEqual({
        statusCode: 429,
        message: 'ThrottlerException: Too Many Requests',
        error: 'Too Many Requests',
      });
      expect(leads.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(workflow.status).toBe(429);
      expect(workflow.headers.get('retry-after')).toBe('7');
      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ status: 200 });
    });

    it('delay slows matching answers until cleared', async () => {
      const id = sut.addWorkflow();
      sut.faults.delay(300, { path: /\/nodes$/ });

      const started = Date.now();
      await expect(call(`/v1/workflows/${id}/nodes`)).resolves.toMatchObject({ status: 200 });
      const delayed = Date.now() - started;
      const quickStart = Date.now();
      await call(`/v1/workflows/${id}`);
      const quick = Date.now() - quickStart;
      sut.faults.clear();
      const clearedStart = Date.now();
      await call(`/v1/workflows/${id}/nodes`);

      expect(delayed).toBeGreaterThanOrEqual(290);
      expect(quick).toBeLessThan(250);
      expect(Date.now() - clearedStart).toBeLessThan(250);
    });

    it('hang never answers, so the client times out; the abandoned request is not performed', async () => {
      const id = sut.addWorkflow({ status: 'cancelled' });
      sut.faults.hang({ method: 'DELETE' });

      await expect(
        call(`/v1/workflows/${id}`, { method: 'DELETE', signal: AbortSignal.timeout(200) }),
      ).rejects.toThrow(/aborted|timeout/i);
      sut.faults.clear();
      await sleep(50);

      expect(sut.exists(id)).toBe(true);
      expect(sut.requests).toEqual([
        expect.objectContaining({ method: 'DELETE', status: 0, performed: false }),
      ]);
    });

    it('a hung request still waiting when the faults are cleared is answered', async () => {
      const id = sut.addWorkflow();
      sut.faults.hang();

      const pending = call(`/v1/workflows/${id}`);
      await sleep(100);
      sut.faults.clear();

      await expect(pending).resolves.toMatchObject({ status: 200 });
    });

    it('stop drops hung requests', async () => {
      const id = sut.addWorkflow();
      sut.faults.hang();

      const pending = call(`/v1/workflows/${id}`);
      await sleep(100);
      await sut.stop();

      await expect(pending).rejects.toThrow('fetch failed');
    });

    it('forbid answers 403 for matching requests only', async () => {
      const id = sut.addWorkflow({ status: 'cancelled' });
      sut.faults.forbid({ method: 'DELETE' });

      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE' })).resolves.toMatchObject({
        status: 403,
        body: { statusCode: 403, message: 'Forbidden resource', error: 'Forbidden' },
      });
      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ status: 200 });
      expect(sut.exists(id)).toBe(true);
      sut.faults.clear();
      await expect(call(`/v1/workflows/${id}`, { method: 'DELETE' })).resolves.toMatchObject({ status: 200 });
    });

    it('forbid answers with the given message, any Unicode escaped as JSON escapes it', async () => {
      const id = sut.addWorkflow();
      const message = `no 😀 \u0000 \ud800 ${'x'.repeat(1000)}`;
      sut.faults.forbid({ method: 'POST', path: /\/cancel$/, message });

      const response = await fetch(`${sut.url}/v1/workflows/${id}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEFAULT_API_KEY}` },
      });
      const text = await response.text();

      expect(response.status).toBe(403);
      expect(text).toContain('\\u0000');
      expect(text).toContain('\\ud800');
      expect(JSON.parse(text)).toEqual({ statusCode: 403, message, error: 'Forbidden' });
      expect(sut.snapshot(id)!.workflow['status']).toBe('active');
    });

    it('random faults are seeded, so a run can be replayed', async () => {
      const id = sut.addWorkflow({ id: 'wfl_randomfaults1' });
      const outcomes = async (): Promise<number[]> => {
        sut.faults.clear();
        sut.faults.random(
          { errorRate: 0.2, resetRate: 0.2, rateLimitRate: 0.2, seed: 42 },
          { path: /^\/v1\// },
        );
        const statuses: number[] = [];
        for (let i = 0; i < 40; i++) {
          statuses.push(
            await call(`/v1/workflows/${id}`).then(
              (reply) => reply.status,
              () => 0,
            ),
          );
        }
        return statuses;
      };

      const first = await outcomes();
      const second = await outcomes();

      expect(second).toEqual(first);
      expect(new Set(first)).toEqual(new Set([0, 200, 429, 503]));
    });

    it('matches faults by method and path', async () => {
      const id = sut.addWorkflow();
      sut.faults.failNext(1, { method: 'post', path: /\/pause$/ });

      await expect(call(`/v1/workflows/${id}/cancel`, { method: 'POST' })).resolves.toMatchObject({
        status: 200,
      });
      await expect(call(`/v1/workflows/${id}/pause`)).resolves.toMatchObject({ status: 404 });
      await expect(call(`/v1/workflows/${id}/pause`, { method: 'POST' })).resolves.toMatchObject({
        status: 503,
      });
    });

    it('injected faults do not count against the rate limit', async () => {
      await startSimulator({ rateLimit: { limit: 2, windowMs: 60_000 } });
      const id = sut.addWorkflow();
      sut.faults.failNext(3);

      for (let i = 0; i < 3; i++) await call(`/v1/workflows/${id}`);

      await expect(call(`/v1/workflows/${id}`)).resolves.toMatchObject({ status: 200 });
    });
  });

  describe('request log', () => {
    it('records every request without its credentials', async () => {
      const id = sut.addWorkflow();
      const before = Date.now();

      await call(`/v1/workflows/${id}/leads?page=2&limit=5&status=pending`);
      await call(`/v1/workflows/${id}/cancel`, { method: 'POST', body: { reason: 'teardown' } });
      await call(`/v1/workflows/${id}`, { key: 'dnx_test_wrong' });

      expect(sut.requests).toEqual([
        {
          seq: expect.any(Number),
          method: 'GET',
          path: `/v1/workflows/${id}/leads`,
          query: { page: '2', limit: '5', status: 'pending' },
          status: 200,
          performed: true,
          at: expect.any(Number),
          doneAt: expect.any(Number),
          connection: expect.any(Number),
        },
        expect.objectContaining({
          method: 'POST',
          path: `/v1/workflows/${id}/cancel`,
          query: {},
          status: 200,
        }),
        expect.objectContaining({ method: 'GET', status: 401, performed: true }),
      ]);
      expect(sut.requests[0]!.at).toBeGreaterThanOrEqual(before);
      expect(sut.requests[1]!.seq).toBeGreaterThan(sut.requests[0]!.seq);
      expect(JSON.stringify(sut.requests)).not.toContain(DEFAULT_API_KEY);
      expect(JSON.stringify(sut.requests)).not.toContain('dnx_test_wrong');

      sut.clearRequests();
      expect(sut.requests).toEqual([]);
    });

    it('keeps arrival order when answers finish out of order', async () => {
      const id = sut.addWorkflow();
      sut.faults.delay(200, { path: /\/nodes$/ });

      await Promise.all([
        call(`/v1/workflows/${id}/nodes`),
        sleep(50).then(() => call(`/v1/workflows/${id}/edges`)),
      ]);

      expect(sut.requests.map((request) => request.path.split('/').at(-1))).toEqual(['nodes', 'edges']);
    });

    it('calls onRequest hooks with the method and path before handling', async () => {
      const id = sut.addWorkflow({ status: 'cancelled' });
      const seen: string[] = [];
      const unsubscribe = sut.onRequest((method, path) => {
        seen.push(`${method} ${path} exists=${sut.exists(id)}`);
      });

      await call(`/v1/workflows/${id}?x=1`, { method: 'DELETE' });
      unsubscribe();
      await call(`/v1/workflows/${id}`);

      expect(seen).toEqual([`DELETE /v1/workflows/${id} exists=true`]);
    });
  });

  describe('control API', () => {
    it('adds workflows, serves snapshots and requests, and switches faults', async () => {
      const control = async (method: string, path: string, body?: unknown): Promise<Reply> =>
        call(path, { method, key: null, body });

      const added = await control('POST', '/__sim/workflows', {
        nodes: 4,
        edges: 3,
        leads: 12,
        status: 'paused',
      });
      const id = added.body.id as string;
      const snapshot = await control('GET', `/__sim/workflows/${id}`);
      await control('POST', '/__sim/faults', {
        kind: 'failNext',
        count: 2,
        status: 502,
        method: 'GET',
        path: '^/v1/workflows/[^/]+/leads',
      });
      const faulted = [await call(`/v1/workflows/${id}/leads`), await call(`/v1/workflows/${id}/leads`)];
      await control('POST', '/__sim/faults', { kind: 'forbid', method: 'DELETE' });
      const forbidden = await call(`/v1/workflows/${id}`, { method: 'DELETE' });
      await control('DELETE', '/__sim/faults');
      const cleared = await call(`/v1/workflows/${id}/leads`);
      const requests = await control('GET', '/__sim/requests');

      expect(added.status).toBe(201);
      expect(id).toMatch(ID);
      expect(snapshot.body).toEqual(sut.snapshot(id));
      expect(snapshot.body.leads).toHaveLength(12);
      expect(faulted.map((reply) => reply.status)).toEqual([502, 502]);
      expect(forbidden.status).toBe(403);
      expect(cleared.status).toBe(200);
      expect(requests.body.map((request: Json) => request.status)).toEqual([502, 502, 403, 200]);
      await expect(control('GET', '/__sim/workflows/wfl_nope00000000')).resolves.toMatchObject({
        status: 404,
      });
      await expect(control('POST', '/__sim/faults', { kind: 'bogus' })).resolves.toMatchObject({
        status: 400,
      });
      await expect(control('POST', '/__sim/workflows', { status: 'exploded' })).resolves.toMatchObject({
        status: 400,
      });
      await expect(control('DELETE', '/__sim/requests')).resolves.toMatchObject({ status: 204 });
      expect(sut.requests).toEqual([]);
    });
  });
});
