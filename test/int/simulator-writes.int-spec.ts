/**
 * The simulator's endpoints for a restore (dialnexa-api.md, "Endpoints a restore uses") over real
 * HTTP: create a workflow, nodes, edges, upload leads, delete nodes and edges, with their errors,
 * and the created workflow served and torn down like any other.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_API_KEY, DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';
import type { DialnexaSimulatorOptions } from '../simulator/dialnexa-simulator.ts';

// Response bodies are arbitrary JSON; the assertions below are the type checks.
type Json = any;

interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

const ID = /^[a-z]+_[0-9a-z]{12}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe(`${DialnexaSimulator.name} writes`, () => {
  let sut: DialnexaSimulator;
  /** An agent and a caller-id number the default organisation has (from a seeded workflow). */
  let agentId: string;
  let fromPhone: string;

  async function startSimulator(options: DialnexaSimulatorOptions = {}): Promise<void> {
    await sut?.stop();
    sut = new DialnexaSimulator({
      rateLimit: { limit: 10_000, windowMs: 60_000 },
      settleMs: 100,
      ...options,
    });
    await sut.start();
    const seeded = sut.snapshot(sut.addWorkflow({ nodes: 3, leads: 0, status: 'draft' }))!;
    const config = seeded.nodes.find((node) => node.node_type === 'VOICE_CALL')!.config;
    agentId = config['agent_id'] as string;
    fromPhone = config['from_phone_number'] as string;
  }

  async function call(
    method: string,
    path: string,
    options: { json?: unknown; body?: FormData | string; key?: string | null; contentType?: string } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = {};
    const key = options.key === undefined ? DEFAULT_API_KEY : options.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (options.json !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(`${sut.url}${path}`, {
      method,
      headers,
      body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
  }

  function csvForm(
    csv: string | Uint8Array,
    name = 'leads.csv',
    type = 'text/csv',
    field = 'file',
  ): FormData {
    const form = new FormData();
    form.append(field, new Blob([csv], { type }), name);
    return form;
  }

  async function newWorkflow(title = 'Restored'): Promise<string> {
    const reply = await call('POST', '/v1/workflows', {
      json: { title, description: null, status: 'draft' },
    });
    expect(reply.status).toBe(201);
    return reply.body.id as string;
  }

  async function newNode(workflowId: string, overrides: Record<string, unknown> = {}): Promise<Json> {
    const reply = await call('POST', `/v1/workflows/${workflowId}/nodes`, {
      json: {
        node_type: 'VOICE_CALL',
        label: 'First call',
        position_x: 1,
        position_y: 2,
        config: {},
        ...overrides,
      },
    });
    expect(reply.status).toBe(201);
    return reply.body;
  }

  beforeEach(async () => {
    await startSimulator();
  });

  afterEach(async () => {
    await sut.stop();
  });

  describe('POST /v1/workflows', () => {
    it('creates a draft with a server-minted id, served by GET like any workflow', async () => {
      const created = await call('POST', '/v1/workflows', {
        json: { title: 'Spring \u2028 \u{1F680}', description: 'd\u0000', status: 'draft' },
      });

      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.stringMatching(/^wfl_[0-9a-z]{12}$/),
        organization_id: sut.defaultOrgId,
        title: 'Spring \u2028 \u{1F680}',
        description: 'd\u0000',
        status: 'draft',
        created_at: expect.stringMatching(ISO_MS),
        updated_at: expect.stringMatching(ISO_MS),
      });
      const served = await call('GET', `/v1/workflows/${created.body.id}`);
      expect(served.status).toBe(200);
      expect(served.body).toMatchObject({
        id: created.body.id,
        title: 'Spring \u2028 \u{1F680}',
        status: 'draft',
        node_count: 0,
        edge_count: 0,
        enrolled_leads: 0,
      });
    });

    it('answers 400 with every problem, as a NestJS message array, and creates nothing', async () => {
      const before = sut.requests.length;
      const reply = await call('POST', '/v1/workflows', {
        json: { id: 'wfl_mine00000001', description: 7, status: 'active' },
      });

      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({
        statusCode: 400,
        message: [
          'property id should not exist',
          'title must be a string',
          'title should not be empty',
          'description must be a string',
          'status must be one of the following values: draft',
        ],
        error: 'Bad Request',
      });
      expect(sut.requests.length).toBe(before + 1);
      expect(sut.exists('wfl_mine00000001')).toBe(false);
    });

    it('answers 400 for a body that is not JSON, and validates a non-JSON content type as empty', async () => {
      const broken = await fetch(`${sut.url}/v1/workflows`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEFAULT_API_KEY}`, 'content-type': 'application/json' },
        body: '{"title":',
      });
      expect(broken.status).toBe(400);

      const form = await call('POST', '/v1/workflows', { json: { title: 'T' }, contentType: 'text/plain' });
      expect(form.status).toBe(400);
      expect(form.body.message).toContain('title should not be empty');
    });

    it('answers 401 without a key and 403 for a key without write permission', async () => {
      await startSimulator({
        apiKeys: [{ key: DEFAULT_API_KEY }, { key: 'dnx_test_readonly', canWrite: false }],
      });
      const body = { json: { title: 'T', description: null } };

      await expect(call('POST', '/v1/workflows', { ...body, key: null })).resolves.toMatchObject({
        status: 401,
      });
      await expect(
        call('POST', '/v1/workflows', { ...body, key: 'dnx_test_readonly' }),
      ).resolves.toMatchObject({
        status: 403,
        body: { statusCode: 403, message: 'Forbidden resource', error: 'Forbidden' },
      });
    });

    it('wraps its answer in the envelope flavour, with camelCase timestamps', async () => {
      await startSimulator({ envelope: true });

      const reply = await call('POST', '/v1/workflows', { json: { title: 'T', description: null } });

      expect(reply.status).toBe(201);
      expect(reply.body).toMatchObject({
        statusCode: 201,
        data: { id: expect.stringMatching(ID), status: 'draft', createdAt: expect.stringMatching(ISO_MS) },
      });
    });
  });

  describe('POST /v1/workflows/:id/nodes', () => {
    it('creates nodes with new ids, listed in creation order', async () => {
      const wf = await newWorkflow();
      const config = { agent_id: agentId, from_phone_number: fromPhone, notes: 'a\u2028b' };

      const first = await newNode(wf, { config, label: 'Call \ud83d' });
      const second = await newNode(wf, { node_type: 'AI_SUMMARY', label: '' });

      expect(first).toEqual({
        id: expect.stringMatching(/^node_[0-9a-z]{12}$/),
        workflow_id: wf,
        node_type: 'VOICE_CALL',
        label: 'Call \ud83d',
        position_x: 1,
        position_y: 2,
        config,
      });
      const listed = await call('GET', `/v1/workflows/${wf}/nodes?page=1&limit=100`);
      expect(listed.body.data).toEqual([first, second]);
      expect(listed.body.meta).toEqual({ page: 1, limit: 100, total: 2, totalPages: 1 });
    });

    it('answers 400 for bad fields and for a client-given id', async () => {
      const wf = await newWorkflow();

      const reply = await call('POST', `/v1/workflows/${wf}/nodes`, {
        json: { id: 'node_mine', node_type: '', label: 3, position_x: 'x', config: [] },
      });

      expect(reply.status).toBe(400);
      expect(reply.body.message).toEqual([
        'property id should not exist',
        'node_type should not be empty',
        'label must be a string',
        'position_x must be a number conforming to the specified constraints',
        'position_y must be a number conforming to the specified constraints',
        'config must be an object',
      ]);
    });

    it('answers 400 for an agent or caller-id number the organisation does not have', async () => {
      const wf = await newWorkflow();

      const reply = await call('POST', `/v1/workflows/${wf}/nodes`, {
        json: {
          node_type: 'VOICE_CALL',
          label: 'x',
          position_x: 0,
          position_y: 0,
          config: { agent_id: 'agent_unknown00001', from_phone_number: '+19995550100' },
        },
      });

      expect(reply.status).toBe(400);
      expect(reply.body.message).toEqual([
        'config.agent_id must reference an existing agent of this organization',
        'config.from_phone_number must be a phone number of this organization',
      ]);
      expect(sut.snapshot(wf)!.nodes).toEqual([]);
    });

    it("still knows a deleted workflow's agents: they belong to the organisation", async () => {
      const deleted = sut.addWorkflow({ nodes: 2, leads: 0, status: 'cancelled' });
      const agent = sut.snapshot(deleted)!.nodes[0]!.config['agent_id'];
      await expect(call('DELETE', `/v1/workflows/${deleted}`)).resolves.toMatchObject({ status: 200 });
      const wf = await newWorkflow();

      await expect(newNode(wf, { config: { agent_id: agent } })).resolves.toMatchObject({
        config: { agent_id: agent },
      });
    });

    it("answers 404 for an unknown workflow and for another organisation's", async () => {
      await startSimulator({
        apiKeys: [{ key: DEFAULT_API_KEY }, { key: 'dnx_test_other', orgId: 'org_other0000001' }],
      });
      const wf = await newWorkflow();
      const body = { json: { node_type: 'SMS', label: 'x', position_x: 0, position_y: 0, config: {} } };

      await expect(call('POST', '/v1/workflows/wfl_nothere00001/nodes', body)).resolves.toMatchObject({
        status: 404,
        body: { message: 'Workflow not found' },
      });
      await expect(
        call('POST', `/v1/workflows/${wf}/nodes`, { ...body, key: 'dnx_test_other' }),
      ).resolves.toMatchObject({ status: 404 });
    });

    it('answers 409 unless the workflow is draft or paused', async () => {
      const body = { json: { node_type: 'SMS', label: 'x', position_x: 0, position_y: 0, config: {} } };
      for (const status of ['active', 'running', 'completed', 'cancelled'] as const) {
        const wf = sut.addWorkflow({ status, leads: 0 });
        await expect(call('POST', `/v1/workflows/${wf}/nodes`, body)).resolves.toMatchObject({ status: 409 });
      }
      const paused = sut.addWorkflow({ status: 'paused', leads: 0 });
      await expect(call('POST', `/v1/workflows/${paused}/nodes`, body)).resolves.toMatchObject({
        status: 201,
      });
    });
  });

  describe('POST /v1/workflows/:id/edges', () => {
    it('creates edges in order; an edge without a label has none; another label is another edge', async () => {
      const wf = await newWorkflow();
      const a = await newNode(wf);
      const b = await newNode(wf, { node_type: 'CONVERTED' });

      const labelled = await call('POST', `/v1/workflows/${wf}/edges`, {
        json: { from_node_id: a.id, to_node_id: b.id, label: 'COMPLETED' },
      });
      const bare = await call('POST', `/v1/workflows/${wf}/edges`, {
        json: { from_node_id: a.id, to_node_id: b.id },
      });

      expect(labelled.status).toBe(201);
      expect(labelled.body).toEqual({
        id: expect.stringMatching(/^edge_[0-9a-z]{12}$/),
        workflow_id: wf,
        from_node_id: a.id,
        to_node_id: b.id,
        label: 'COMPLETED',
      });
      expect(bare.status).toBe(201);
      expect(bare.body).not.toHaveProperty('label');
      const listed = await call('GET', `/v1/workflows/${wf}/edges?limit=100`);
      expect(listed.body.data).toEqual([labelled.body, bare.body]);
    });

    it('answers 404 when a node is not in the workflow, 409 for the same (from, to, label) again', async () => {
      const wf = await newWorkflow();
      const a = await newNode(wf);
      const other = await newNode(await newWorkflow('other'));
      const edge = { from_node_id: a.id, to_node_id: a.id, label: 'NO_ANSWER' };

      await expect(
        call('POST', `/v1/workflows/${wf}/edges`, { json: { from_node_id: a.id, to_node_id: other.id } }),
      ).resolves.toMatchObject({ status: 404 });
      await expect(call('POST', `/v1/workflows/${wf}/edges`, { json: edge })).resolves.toMatchObject({
        status: 201,
      });
      await expect(call('POST', `/v1/workflows/${wf}/edges`, { json: edge })).resolves.toMatchObject({
        status: 409,
        body: { statusCode: 409, error: 'Conflict' },
      });
      expect(sut.snapshot(wf)!.edges).toHaveLength(1);
    });

    it('answers 400 for a missing node id', async () => {
      const wf = await newWorkflow();

      const reply = await call('POST', `/v1/workflows/${wf}/edges`, {
        json: { to_node_id: 'node_x', label: 5 },
      });

      expect(reply.status).toBe(400);
      expect(reply.body.message).toEqual([
        'from_node_id must be a string',
        'from_node_id should not be empty',
        'label must be a string',
      ]);
    });
  });

  describe('POST /v1/workflows/:id/leads', () => {
    it('enrols each row as a pending lead at the entry node, its other columns as metadata', async () => {
      const wf = await newWorkflow();
      const entry = await newNode(wf);
      const end = await newNode(wf, { node_type: 'CONVERTED' });
      await call('POST', `/v1/workflows/${wf}/edges`, {
        json: { from_node_id: entry.id, to_node_id: end.id },
      });
      const csv =
        'phone_number,first_name,notes,__proto__\r\n' +
        '+14155550100,Ana,"say ""hi"", then\r\nhang up \u2028 ok",x\r\n' +
        '+14155550101,,plain,\r\n' +
        '+14155550100,Bo,,\r\n';

      const reply = await call('POST', `/v1/workflows/${wf}/leads`, { body: csvForm(csv) });

      expect(reply.status).toBe(201);
      expect(reply.body).toEqual({
        statusCode: 201,
        message: 'Leads uploaded successfully',
        data: {
          '+14155550100': [expect.stringMatching(/^wlead_/), expect.stringMatching(/^wlead_/)],
          '+14155550101': [expect.stringMatching(/^wlead_/)],
        },
        count: 3,
      });
      const leads = (await call('GET', `/v1/workflows/${wf}/leads?limit=100`)).body.data;
      expect(leads.map((lead: Json) => lead.id)).toEqual([
        reply.body.data['+14155550100'][0],
        reply.body.data['+14155550101'][0],
        reply.body.data['+14155550100'][1],
      ]);
      expect(leads[0]).toEqual({
        id: reply.body.data['+14155550100'][0],
        workflow_id: wf,
        phone_number: '+14155550100',
        metadata: JSON.parse(
          '{"first_name":"Ana","notes":"say \\"hi\\", then\\r\\nhang up \\u2028 ok","__proto__":"x"}',
        ),
        status: 'pending',
        current_node_id: entry.id,
        entered_node_at: expect.stringMatching(ISO_MS),
        release_at: null,
        call_id: null,
        enrolled_at: expect.stringMatching(ISO_MS),
        created_at: expect.stringMatching(ISO_MS),
      });
      expect(leads[1].metadata).toEqual({ notes: 'plain' });
      await expect(call('GET', `/v1/workflows/${wf}`)).resolves.toMatchObject({
        body: { enrolled_leads: 3 },
      });
    });

    it('pages uploaded leads like any others and keeps them after later uploads, in order', async () => {
      const wf = await newWorkflow();
      await newNode(wf);
      const rows = (from: number, count: number): string =>
        Array.from({ length: count }, (_, i) => `+1415555${String(from + i).padStart(4, '0')}\r\n`).join('');

      await call('POST', `/v1/workflows/${wf}/leads`, { body: csvForm(`phone_number\r\n${rows(0, 150)}`) });
      await call('POST', `/v1/workflows/${wf}/leads`, { body: csvForm(`phone_number\r\n${rows(150, 60)}`) });

      const page3 = await call('GET', `/v1/workflows/${wf}/leads?page=3&limit=100`);
      expect(page3.body.meta).toEqual({ page: 3, limit: 100, total: 210, totalPages: 3 });
      expect(page3.body.data.map((lead: Json) => lead.phone_number)).toEqual(
        Array.from({ length: 10 }, (_, i) => `+1415555${String(200 + i).padStart(4, '0')}`),
      );
      const pending = await call('GET', `/v1/workflows/${wf}/leads?status=pending&limit=1`);
      expect(pending.body.meta.total).toBe(210);
    });

    it.each([
      ['no phone_number column', 'name\r\nAna\r\n', ['File must have a phone_number column']],
      [
        'a phone number that is not E.164',
        'phone_number\r\n+14155550100\r\n0415 555\r\n',
        ['Row 2: phone_number must be a valid phone number in E.164 format'],
      ],
      [
        'a row with too many fields',
        'phone_number,a\r\n+14155550100,1,2\r\n',
        ['Row 1 has 3 fields; the header has 2'],
      ],
      ['a broken quote', 'phone_number,a\r\n+14155550100,"x\r\n', ['Line 2: unterminated quoted field']],
      ['a repeated column', 'phone_number,a,a\r\n+14155550100,1,2\r\n', ['Column a appears more than once']],
      ['no rows', 'phone_number\r\n', ['File contains no leads']],
    ])('answers 400 for a file with %s, and enrols no one', async (_, csv, message) => {
      const wf = await newWorkflow();

      const reply = await call('POST', `/v1/workflows/${wf}/leads`, { body: csvForm(csv) });

      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({ statusCode: 400, message, error: 'Bad Request' });
      expect(sut.snapshot(wf)!.leads).toEqual([]);
    });

    it('answers 400 for invalid UTF-8, a file that is not CSV, a missing file and another field', async () => {
      const wf = await newWorkflow();
      const path = `/v1/workflows/${wf}/leads`;

      await expect(
        call('POST', path, { body: csvForm(new Uint8Array([0x70, 0x68, 0xff, 0x0d, 0x0a])) }),
      ).resolves.toMatchObject({ status: 400, body: { message: ['File is not valid UTF-8'] } });
      await expect(
        call('POST', path, {
          body: csvForm(
            'PK',
            'leads.xlsx',
            'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          ),
        }),
      ).resolves.toMatchObject({ status: 400 });
      await expect(call('POST', path, { body: new FormData() })).resolves.toMatchObject({ status: 400 });
      await expect(
        call('POST', path, {
          body: csvForm('phone_number\r\n+14155550100\r\n', 'leads.csv', 'text/csv', 'upload'),
        }),
      ).resolves.toMatchObject({ status: 400, body: { message: 'Unexpected field' } });
      expect(sut.snapshot(wf)!.leads).toEqual([]);
    });

    it('answers 413 for more than 5,000 rows, and takes 5,000', async () => {
      const wf = await newWorkflow();
      const file = (count: number): string =>
        `phone_number\r\n${Array.from({ length: count }, (_, i) => `+1415${String(i).padStart(7, '0')}`).join('\r\n')}\r\n`;

      await expect(
        call('POST', `/v1/workflows/${wf}/leads`, { body: csvForm(file(5_001)) }),
      ).resolves.toMatchObject({
        status: 413,
        body: { statusCode: 413, error: 'Payload Too Large' },
      });
      await expect(
        call('POST', `/v1/workflows/${wf}/leads`, { body: csvForm(file(5_000)) }),
      ).resolves.toMatchObject({
        status: 201,
        body: { count: 5_000 },
      });
    });

    it('answers 409 for a cancelled or completed workflow', async () => {
      const wf = sut.addWorkflow({ status: 'completed', leads: 0 });

      const reply = await call('POST', `/v1/workflows/${wf}/leads`, {
        body: csvForm('phone_number\r\n+14155550100\r\n'),
      });

      expect(reply.status).toBe(409);
    });
  });

  describe('DELETE /v1/workflows/:id/nodes/:nodeId and edges/:edgeId', () => {
    it('deletes, then answers 404; deleting a node deletes its edges', async () => {
      const wf = await newWorkflow();
      const a = await newNode(wf);
      const b = await newNode(wf);
      const edge = (
        await call('POST', `/v1/workflows/${wf}/edges`, { json: { from_node_id: a.id, to_node_id: b.id } })
      ).body;
      const loop = (
        await call('POST', `/v1/workflows/${wf}/edges`, { json: { from_node_id: a.id, to_node_id: a.id } })
      ).body;

      await expect(call('DELETE', `/v1/workflows/${wf}/edges/${loop.id}`)).resolves.toMatchObject({
        status: 200,
      });
      await expect(call('DELETE', `/v1/workflows/${wf}/edges/${loop.id}`)).resolves.toMatchObject({
        status: 404,
      });
      await expect(call('DELETE', `/v1/workflows/${wf}/nodes/${b.id}`)).resolves.toMatchObject({
        status: 200,
      });
      await expect(call('DELETE', `/v1/workflows/${wf}/nodes/${b.id}`)).resolves.toMatchObject({
        status: 404,
      });

      const snapshot = sut.snapshot(wf)!;
      expect(snapshot.nodes.map((node) => node.id)).toEqual([a.id]);
      expect(snapshot.edges.map((e) => e.id)).not.toContain(edge.id);
      expect(snapshot.edges).toEqual([]);
    });

    it('answers 409 for a node leads sit on, and for a workflow that is not draft or paused', async () => {
      const wf = await newWorkflow();
      const a = await newNode(wf);
      await call('POST', `/v1/workflows/${wf}/leads`, { body: csvForm('phone_number\r\n+14155550100\r\n') });
      const active = sut.addWorkflow({ status: 'active', nodes: 2, leads: 0 });
      const activeNode = sut.snapshot(active)!.nodes[0]!.id;

      await expect(call('DELETE', `/v1/workflows/${wf}/nodes/${a.id}`)).resolves.toMatchObject({
        status: 409,
      });
      await expect(call('DELETE', `/v1/workflows/${active}/nodes/${activeNode}`)).resolves.toMatchObject({
        status: 409,
      });
    });

    it('answers 403 for a key without write permission', async () => {
      await startSimulator({ apiKeys: [{ key: DEFAULT_API_KEY }, { key: 'dnx_test_ro', canWrite: false }] });
      const wf = await newWorkflow();
      const a = await newNode(wf);

      await expect(
        call('DELETE', `/v1/workflows/${wf}/nodes/${a.id}`, { key: 'dnx_test_ro' }),
      ).resolves.toMatchObject({
        status: 403,
      });
      expect(sut.snapshot(wf)!.nodes).toHaveLength(1);
    });
  });

  describe('a created workflow torn down again', () => {
    it('cannot be deleted while its uploaded leads are in transit; cancelled and settled, it can', async () => {
      const wf = await newWorkflow();
      await newNode(wf);
      await call('POST', `/v1/workflows/${wf}/leads`, { body: csvForm('phone_number\r\n+14155550100\r\n') });

      await expect(call('DELETE', `/v1/workflows/${wf}`)).resolves.toMatchObject({ status: 409 });
      await expect(call('POST', `/v1/workflows/${wf}/cancel`)).resolves.toMatchObject({ status: 200 });
      await sleep(150);
      await expect(call('DELETE', `/v1/workflows/${wf}`)).resolves.toMatchObject({ status: 200 });
      await expect(call('GET', `/v1/workflows/${wf}/nodes`)).resolves.toMatchObject({ status: 404 });
    });
  });

  describe('rate limits and faults', () => {
    it('counts creates against the rate limit and answers 429 past it, creating nothing', async () => {
      await startSimulator({ rateLimit: { limit: 3, windowMs: 60_000 } });
      // the seeded workflow was added without requests: the window is whole
      const replies = [];
      for (let i = 0; i < 4; i++)
        replies.push(await call('POST', '/v1/workflows', { json: { title: `T${i}` } }));

      expect(replies.map((r) => r.status)).toEqual([201, 201, 201, 429]);
      expect(replies[3]!.headers.get('retry-after')).toMatch(/^\d+$/);
    });

    it('can perform a create and lose its answer (dropAfterPerformNext), or answer 500 after it (failAfterPerformNext)', async () => {
      const wf = await newWorkflow();
      sut.faults.dropAfterPerformNext(1, { method: 'POST', path: /\/nodes$/ });
      sut.faults.failAfterPerformNext(1, { method: 'POST', path: /\/nodes$/ });
      const body = { node_type: 'SMS', label: 'x', position_x: 0, position_y: 0, config: {} };

      await expect(call('POST', `/v1/workflows/${wf}/nodes`, { json: body })).rejects.toThrow();
      await expect(call('POST', `/v1/workflows/${wf}/nodes`, { json: body })).resolves.toMatchObject({
        status: 500,
        body: { statusCode: 500 },
      });

      expect(sut.snapshot(wf)!.nodes).toHaveLength(2);
      expect(sut.requests.slice(-2).map((r) => [r.status, r.performed])).toEqual([
        [0, true],
        [500, true],
      ]);
    });

    it('performs nothing for a reset, a plain 503 or a 429 fault', async () => {
      const wf = await newWorkflow();
      sut.faults.resetNext(1, { method: 'POST' });
      sut.faults.failNext(1, { method: 'POST' });
      sut.faults.rateLimitNext(1, { method: 'POST' });
      const body = { json: { node_type: 'SMS', label: 'x', position_x: 0, position_y: 0, config: {} } };

      await expect(call('POST', `/v1/workflows/${wf}/nodes`, body)).rejects.toThrow();
      await expect(call('POST', `/v1/workflows/${wf}/nodes`, body)).resolves.toMatchObject({ status: 503 });
      await expect(call('POST', `/v1/workflows/${wf}/nodes`, body)).resolves.toMatchObject({ status: 429 });

      expect(sut.snapshot(wf)!.nodes).toEqual([]);
    });
  });
});
