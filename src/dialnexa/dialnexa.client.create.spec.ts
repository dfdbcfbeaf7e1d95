import { describe, it, expect } from '@jest/globals';
import { errors } from 'undici';
import { type CreateRequestOptions, DialnexaClient } from './dialnexa.client.js';
import type { JsonObject, NewNode } from './dialnexa.types.js';
import { API_KEY, build, PHONE, reset, T0 } from './testing/mock-dialnexa.js';

const WF = 'wfl_n3wdr4ftw0rk';
const WF_PATH = `/v1/workflows/${WF}`;

function buildCreatedWorkflow(overrides: JsonObject = {}): JsonObject {
  return {
    id: WF,
    organization_id: 'org_x8k2m9q4v7na',
    title: 'Spring Renewal Campaign',
    description: null,
    status: 'draft',
    created_at: '2026-12-02T08:00:00.000Z',
    updated_at: '2026-12-02T08:00:00.000Z',
    ...overrides,
  };
}

function buildNewNode(overrides: Partial<NewNode> = {}): NewNode {
  return {
    node_type: 'VOICE_CALL',
    label: 'First call \u2028 \u{1F4DE}',
    position_x: 120,
    position_y: 80,
    config: { agent_id: 'agent_a1b2c3d4e5f6', from_phone_number: '+14155550100' },
    ...overrides,
  };
}

const CSV = new TextEncoder().encode(`phone_number,first_name\r\n${PHONE},"Ana, ""la"" \u2028"\r\n`);

type Create = (sut: DialnexaClient) => Promise<unknown>;

/** Every create, with the path it posts to. */
const CREATES: Array<[string, string, Create]> = [
  ['createWorkflow', '/v1/workflows', (sut) => sut.createWorkflow({ title: 'T', description: null })],
  ['createNode', `${WF_PATH}/nodes`, (sut) => sut.createNode(WF, buildNewNode())],
  [
    'createEdge',
    `${WF_PATH}/edges`,
    (sut) => sut.createEdge(WF, { from_node_id: 'node_a', to_node_id: 'node_b' }),
  ],
  ['uploadLeads', `${WF_PATH}/leads`, (sut) => sut.uploadLeads(WF, CSV)],
];

describe(`${DialnexaClient.name} creates`, () => {
  describe('createWorkflow', () => {
    it('posts the title and description as a draft, as JSON, and answers the new workflow as served', async () => {
      const { sut, answer, seen } = build();
      answer('POST', '/v1/workflows', { status: 201, body: buildCreatedWorkflow({ extra: [1] }) });

      await expect(sut.createWorkflow({ title: 'Spring \ud83d', description: 'a\u2028b' })).resolves.toEqual(
        buildCreatedWorkflow({ extra: [1] }),
      );
      expect(seen).toHaveLength(1);
      expect(seen[0]!.headers).toMatchObject({ 'content-type': 'application/json' });
      expect(JSON.parse(seen[0]!.body!)).toEqual({
        title: 'Spring \ud83d',
        description: 'a\u2028b',
        status: 'draft',
      });
    });

    it('unwraps the {statusCode, message, data} envelope, keeping camelCase timestamps', async () => {
      const { sut, answer } = build();
      const camel = { id: WF, status: 'draft', createdAt: '2026-12-02T08:00:00.000Z' };
      answer('POST', '/v1/workflows', {
        status: 201,
        body: { statusCode: 201, message: 'Workflow created', data: camel },
      });

      await expect(sut.createWorkflow({ title: 'T', description: null })).resolves.toEqual(camel);
    });
  });

  describe('createNode', () => {
    it('posts exactly the node fields and answers the node with its new id', async () => {
      const { sut, answer, seen, reports } = build();
      const node = { id: 'node_n3wn0d3xyz12', workflow_id: WF, ...buildNewNode() };
      answer('POST', `${WF_PATH}/nodes`, { status: 201, body: node });

      await expect(sut.createNode(WF, { ...buildNewNode(), id: 'node_old' } as NewNode)).resolves.toEqual(
        node,
      );
      expect(JSON.parse(seen[0]!.body!)).toEqual(buildNewNode());
      expect(reports).toContain('POST nodes.create 201');
    });

    it('sends an archived -0 as -0 and hostile text as it is', async () => {
      const { sut, answer, seen } = build();
      answer('POST', `${WF_PATH}/nodes`, { status: 201, body: { id: 'node_n3wn0d3xyz12', workflow_id: WF } });
      const config = { x: -0, list: [-0, 1], text: 'a\u2028b\ud800' };

      await sut.createNode(WF, { ...buildNewNode(), position_x: -0, config });

      expect(seen[0]!.body).toContain('"position_x":-0');
      const sent = JSON.parse(seen[0]!.body!) as { position_x: number; config: typeof config };
      expect(Object.is(sent.position_x, -0)).toBe(true);
      expect(Object.is(sent.config.x, -0)).toBe(true);
      expect(Object.is(sent.config.list[0], -0)).toBe(true);
      expect(sent.config.text).toBe('a\u2028b\ud800');
    });

    it.each([
      [404, 'WORKFLOW_NOT_FOUND'],
      [409, 'UPSTREAM_CONFLICT'],
    ])('maps %i to %s, sent once', async (status, code) => {
      const { sut, answer, seen } = build();
      answer('POST', `${WF_PATH}/nodes`, { status, body: { statusCode: status, message: 'no' } });

      await expect(sut.createNode(WF, buildNewNode())).rejects.toMatchObject({ code, retryable: false });
      expect(seen).toHaveLength(1);
    });
  });

  describe('createEdge', () => {
    it('sends no label for an unlabelled edge, and a label as given', async () => {
      const { sut, answer, seen } = build();
      const edge = { id: 'edge_n3w3dg3xyz12', from_node_id: 'node_a', to_node_id: 'node_b' };
      answer('POST', `${WF_PATH}/edges`, { status: 201, body: edge }, { status: 201, body: edge });

      await sut.createEdge(WF, { from_node_id: 'node_a', to_node_id: 'node_b', label: null });
      await sut.createEdge(WF, { from_node_id: 'node_a', to_node_id: 'node_b', label: 'Give up \u2192 ' });

      expect(seen.map((r) => JSON.parse(r.body!) as unknown)).toEqual([
        { from_node_id: 'node_a', to_node_id: 'node_b' },
        { from_node_id: 'node_a', to_node_id: 'node_b', label: 'Give up \u2192 ' },
      ]);
    });

    it('maps 404 (a node not in the workflow) to UPSTREAM_NOT_FOUND and 409 (a duplicate) to UPSTREAM_CONFLICT', async () => {
      const { sut, answer } = build();
      answer(
        'POST',
        `${WF_PATH}/edges`,
        { status: 404, body: { statusCode: 404, message: 'Node node_a not found' } },
        { status: 409, body: { statusCode: 409, message: 'Edge already exists' } },
      );
      const body = { from_node_id: 'node_a', to_node_id: 'node_b' };

      await expect(sut.createEdge(WF, body)).rejects.toMatchObject({
        code: 'UPSTREAM_NOT_FOUND',
        details: { status: 404, upstreamMessage: 'Node node_a not found' },
      });
      await expect(sut.createEdge(WF, body)).rejects.toMatchObject({ code: 'UPSTREAM_CONFLICT' });
    });
  });

  describe('uploadLeads', () => {
    it('sends one multipart file field leads.csv of type text/csv, with the CSV bytes unchanged', async () => {
      const { sut, answer, seen } = build();
      answer('POST', `${WF_PATH}/leads`, {
        status: 201,
        body: {
          statusCode: 201,
          message: 'Leads uploaded successfully',
          data: { [PHONE]: ['wlead_a'] },
          count: 1,
        },
      });

      await sut.uploadLeads(WF, CSV);

      const contentType = seen[0]!.headers['content-type']!;
      const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(contentType)![1]!;
      const form = await new Request('http://x.invalid', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: seen[0]!.body!,
      }).formData();
      const file = form.get('file') as File;
      expect([...form.keys()]).toEqual(['file']);
      expect(file.name).toBe('leads.csv');
      expect(file.type).toBe('text/csv');
      expect(new Uint8Array(await file.arrayBuffer())).toEqual(CSV);
      expect(seen[0]!.body!.endsWith(`\r\n--${boundary}--\r\n`)).toBe(true);
    });

    it('reads the documented envelope, a {data, count} without it, and a bare map', async () => {
      const { sut, answer } = build();
      const data = { [PHONE]: ['wlead_a', 'wlead_b'], '+14155550124': ['wlead_c'] };
      answer(
        'POST',
        `${WF_PATH}/leads`,
        { status: 201, body: { statusCode: 201, message: 'Leads uploaded successfully', data, count: 3 } },
        { status: 201, body: { data, count: 3 } },
        { status: 201, body: data },
      );

      for (let i = 0; i < 3; i++) {
        await expect(sut.uploadLeads(WF, CSV)).resolves.toEqual({ leadIdsByPhone: data, count: 3 });
      }
    });

    it('keeps a phone "number" __proto__ as a key', async () => {
      const { sut, answer } = build();
      answer('POST', `${WF_PATH}/leads`, {
        status: 201,
        body: '{"data":{"__proto__":["wlead_a"]},"count":1}',
      });

      const upload = await sut.uploadLeads(WF, CSV);

      expect(Object.keys(upload.leadIdsByPhone)).toEqual(['__proto__']);
      expect(Object.getPrototypeOf(upload.leadIdsByPhone)).toBe(Object.prototype);
    });

    it.each([
      [400, 'UPSTREAM_BAD_REQUEST'],
      [403, 'UPSTREAM_FORBIDDEN'],
      [404, 'WORKFLOW_NOT_FOUND'],
      [409, 'UPSTREAM_CONFLICT'],
      [413, 'UPSTREAM_PAYLOAD_TOO_LARGE'],
    ])('maps %i to %s, not retryable, sent once', async (status, code) => {
      const { sut, answer, seen } = build();
      answer('POST', `${WF_PATH}/leads`, { status, body: { statusCode: status, message: ['bad', 'file'] } });

      await expect(sut.uploadLeads(WF, CSV)).rejects.toMatchObject({
        code,
        retryable: false,
        details: { status, method: 'POST', upstreamMessage: 'bad; file' },
      });
      expect(seen).toHaveLength(1);
    });

    it('never logs the CSV or a phone number, nor lets one into an error', async () => {
      const { sut, answer, logs } = build();
      answer('POST', `${WF_PATH}/leads`, {
        status: 400,
        body: { statusCode: 400, message: [`phone_number ${PHONE} is not E.164`] },
      });

      const error: unknown = await sut.uploadLeads(WF, CSV).catch((e: unknown) => e);

      const text = `${JSON.stringify(error)} ${(error as Error).message} ${logs.join('\n')}`;
      expect(text).not.toContain(PHONE);
      expect(text).not.toContain('first_name');
      expect(text).not.toContain(API_KEY);
      expect(logs.length).toBeGreaterThan(0);
    });
  });

  describe('outcome of a create', () => {
    it.each(CREATES)(
      '%s is never resent after a 5xx: UPSTREAM_OUTCOME_UNKNOWN, retryable',
      async (_, path, call) => {
        const { sut, answer, seen } = build();
        answer('POST', path, { status: 503 }, { status: 201, body: buildCreatedWorkflow() });

        await expect(call(sut)).rejects.toMatchObject({
          code: 'UPSTREAM_OUTCOME_UNKNOWN',
          retryable: true,
          details: { status: 503, method: 'POST', path, outcome: 'unknown', after: 'UPSTREAM_UNAVAILABLE' },
        });
        expect(seen).toHaveLength(1);
      },
    );

    it.each(CREATES)('%s is never resent after a reset or a timeout', async (_, path, call) => {
      const { sut, fail, seen } = build();
      fail('POST', path, reset());
      fail('POST', path, new errors.HeadersTimeoutError());

      await expect(call(sut)).rejects.toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
        details: { reason: 'ECONNRESET', after: 'UPSTREAM_UNAVAILABLE' },
      });
      await expect(call(sut)).rejects.toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
        details: { reason: 'UND_ERR_HEADERS_TIMEOUT', after: 'UPSTREAM_TIMEOUT' },
      });
      expect(seen).toHaveLength(2);
    });

    it.each([
      [
        'createWorkflow',
        (sut: DialnexaClient, o: CreateRequestOptions) =>
          sut.createWorkflow({ title: 'T', description: null }, o),
      ],
      ['createNode', (sut: DialnexaClient, o: CreateRequestOptions) => sut.createNode(WF, buildNewNode(), o)],
      [
        'createEdge',
        (sut: DialnexaClient, o: CreateRequestOptions) =>
          sut.createEdge(WF, { from_node_id: 'node_a', to_node_id: 'node_b' }, o),
      ],
      ['uploadLeads', (sut: DialnexaClient, o: CreateRequestOptions) => sut.uploadLeads(WF, CSV, o)],
    ] as const)('%s sends nothing when its beforeSend throws (a lease lost)', async (_, call) => {
      const { sut, seen } = build();
      const lost = new Error('the lease was lost');

      await expect(call(sut, { beforeSend: () => Promise.reject(lost) })).rejects.toBe(lost);
      expect(seen).toHaveLength(0);
    });

    it.each(CREATES)('%s is resent after a 429, once the window has passed', async (name, path, call) => {
      const { sut, answer, seen } = build();
      const created =
        name === 'uploadLeads' ? { data: { [PHONE]: ['wlead_a'] }, count: 1 } : buildCreatedWorkflow();
      answer('POST', path, { status: 429, headers: { 'retry-after': '3' } }, { status: 201, body: created });

      await expect(call(sut)).resolves.toBeDefined();
      expect(seen.map((r) => r.at - T0)).toEqual([0, 3000]);
      expect(seen[1]!.body).toBe(seen[0]!.body);
    });

    it('fails with a plain UPSTREAM_UNAVAILABLE, not resent, when the connection was refused (nothing sent)', async () => {
      const { sut, fail, seen } = build();
      fail(
        'POST',
        '/v1/workflows',
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      );

      await expect(sut.createWorkflow({ title: 'T', description: null })).rejects.toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
      });
      expect(seen).toHaveLength(1);
    });

    it.each([
      ['not JSON', 'created <b>ok</b>'],
      ['without an id', { title: 'T', status: 'draft' }],
      ['with an id that fails the sanity check', { id: 'wfl/../x' }],
      ['a list', [buildCreatedWorkflow()]],
    ])('leaves the outcome unknown on a 2xx %s (something was created, but what?)', async (_, body) => {
      const { sut, answer } = build();
      answer('POST', '/v1/workflows', { status: 201, body });

      await expect(sut.createWorkflow({ title: 'T', description: null })).rejects.toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
        retryable: true,
        details: { status: 201, after: 'UPSTREAM_BAD_RESPONSE' },
      });
    });

    it('leaves the outcome of an upload unknown on a 2xx that maps a phone to something not a list of ids', async () => {
      const { sut, answer } = build();
      answer('POST', `${WF_PATH}/leads`, { status: 201, body: { data: { [PHONE]: 'wlead_a' }, count: 1 } });

      await expect(sut.uploadLeads(WF, CSV)).rejects.toMatchObject({ code: 'UPSTREAM_OUTCOME_UNKNOWN' });
    });
  });

  describe.each([
    ['deleteNode', 'nodes', 'node_a'],
    ['deleteEdge', 'edges', 'edge_a'],
  ] as const)('%s', (method, resource, id) => {
    const path = `${WF_PATH}/${resource}/${id}`;
    const remove = (sut: DialnexaClient) => sut[method](WF, id);

    it('answers deleted on 2xx and already_gone on 404', async () => {
      const { sut, answer, reports } = build();
      answer('DELETE', path, { status: 200, body: { message: 'deleted' } }, { status: 404 });

      await expect(remove(sut)).resolves.toBe('deleted');
      await expect(remove(sut)).resolves.toBe('already_gone');
      expect(reports).toContain(`DELETE ${resource}.delete 200`);
    });

    it('is resent after a 503, since a repeat is harmless', async () => {
      const { sut, answer, seen } = build();
      answer('DELETE', path, { status: 503 }, { status: 404 });

      await expect(remove(sut)).resolves.toBe('already_gone');
      expect(seen).toHaveLength(2);
    });

    it.each([
      [403, 'UPSTREAM_FORBIDDEN'],
      [409, 'UPSTREAM_CONFLICT'],
    ])('throws on %i with %s', async (status, code) => {
      const { sut, answer } = build();
      answer('DELETE', path, { status });

      await expect(remove(sut)).rejects.toMatchObject({ code, details: { status, method: 'DELETE' } });
    });

    it('refuses an empty or dot id rather than address another resource', async () => {
      const { sut } = build();

      await expect(sut[method](WF, '..')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });
  });
});
