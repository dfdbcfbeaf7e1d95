/**
 * DialnexaClient's calls for a restore against the simulator, over real HTTP: each call, its
 * errors, and what happens upstream when an answer is lost (the object exists, the client says
 * UPSTREAM_OUTCOME_UNKNOWN and sends nothing more).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { DialnexaClient } from '../../src/dialnexa/dialnexa.client.js';
import type { JsonObject } from '../../src/dialnexa/dialnexa.types.js';
import { leadsCsv } from '../../src/restore/leads-csv.js';
import { DEFAULT_API_KEY, DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';
import type { DialnexaSimulatorOptions } from '../simulator/dialnexa-simulator.ts';
import { HOSTILE_STRINGS } from '../simulator/hostile-values.ts';
import { buildConfig } from '../support/int-env.js';

describe(`${DialnexaClient.name} against the simulator: restore calls`, () => {
  let sim: DialnexaSimulator;
  let sut: DialnexaClient;

  async function start(options: DialnexaSimulatorOptions = {}, key = DEFAULT_API_KEY): Promise<void> {
    await sut?.close();
    await sim?.stop();
    sim = new DialnexaSimulator({ rateLimit: { limit: 10_000, windowMs: 60_000 }, settleMs: 50, ...options });
    await sim.start();
    const config = buildConfig({
      DIALNEXA_BASE_URL: sim.url,
      DIALNEXA_API_KEY: key,
      DIALNEXA_RATE_BUDGET: 'process',
    });
    sut = DialnexaClient.create({ ...config.dialnexa, retryBaseMs: 1, retryMaxMs: 5 });
  }

  function nodeBody(overrides: JsonObject = {}) {
    return {
      node_type: 'SMS',
      label: 'Reminder \u2028 text',
      position_x: 10,
      position_y: -0,
      config: {},
      ...overrides,
    };
  }

  beforeEach(async () => {
    Logger.overrideLogger(false);
    await start();
  });

  afterEach(async () => {
    await sut.close();
    await sim.stop();
  });

  it('creates a draft workflow, its nodes and edges, in order, as the simulator then serves them', async () => {
    const workflow = await sut.createWorkflow({ title: HOSTILE_STRINGS.lineSeparators!, description: null });
    const wf = workflow.id as string;
    const a = await sut.createNode(wf, nodeBody({ label: HOSTILE_STRINGS.loneHighSurrogate }));
    const b = await sut.createNode(wf, nodeBody({ node_type: 'CONVERTED' }));
    const e1 = await sut.createEdge(wf, {
      from_node_id: a.id as string,
      to_node_id: b.id as string,
      label: 'COMPLETED',
    });
    const e2 = await sut.createEdge(wf, {
      from_node_id: a.id as string,
      to_node_id: b.id as string,
      label: null,
    });

    expect(workflow).toMatchObject({ title: HOSTILE_STRINGS.lineSeparators, status: 'draft' });
    const served = sim.snapshot(wf)!;
    expect(served.workflow).toMatchObject({ status: 'draft', node_count: 2, edge_count: 2 });
    expect(served.nodes).toEqual([a, b]);
    expect(served.edges).toEqual([e1, e2]);
    expect(e2).not.toHaveProperty('label');
    await expect(sut.listAll(wf, 'nodes')).resolves.toEqual({ items: [a, b], total: 2 });
  });

  it('reads the envelope flavour of every create', async () => {
    await start({ envelope: true });

    const workflow = await sut.createWorkflow({ title: 'T', description: 'd' });
    const node = await sut.createNode(workflow.id as string, nodeBody());

    expect(workflow).toMatchObject({ status: 'draft', createdAt: expect.any(String) });
    expect(node).toMatchObject({ node_type: 'SMS', id: expect.stringMatching(/^node_/) });
  });

  it('uploads leads encoded by leadsCsv; the simulator serves their metadata as the contract says', async () => {
    const wf = (await sut.createWorkflow({ title: 'T', description: null })).id as string;
    const entry = await sut.createNode(wf, nodeBody());
    const leads = [
      {
        id: 'wlead_old000000001',
        phone_number: '+14155550100',
        metadata: { first_name: 'Ana', notes: HOSTILE_STRINGS.lineSeparators },
      },
      {
        id: 'wlead_old000000002',
        phone_number: '+14155550101',
        metadata: { score: 7, crm: { a: [1, null] }, q: 'x "y", z' },
      },
      { id: 'wlead_old000000003', phone_number: '+14155550100', metadata: {} },
    ];
    const file = leadsCsv(leads);

    const upload = await sut.uploadLeads(wf, file.csv);

    expect(upload.count).toBe(3);
    expect(Object.keys(upload.leadIdsByPhone).sort()).toEqual(['+14155550100', '+14155550101']);
    expect(upload.leadIdsByPhone['+14155550100']).toHaveLength(2);
    const served = sim.snapshot(wf)!.leads;
    expect(served.map((lead) => lead['id'])).toEqual([
      upload.leadIdsByPhone['+14155550100']![0],
      upload.leadIdsByPhone['+14155550101']![0],
      upload.leadIdsByPhone['+14155550100']![1],
    ]);
    expect(served.map((lead) => lead['metadata'])).toEqual([
      { first_name: 'Ana', notes: HOSTILE_STRINGS.lineSeparators },
      { score: '7', crm: '{"a":[1,null]}', q: 'x "y", z' },
      {},
    ]);
    expect(served.every((lead) => lead['status'] === 'pending' && lead['current_node_id'] === entry.id)).toBe(
      true,
    );
  });

  it('maps the upload errors: 400 for a bad file, 413 for too many rows, 409 for a closed workflow', async () => {
    const wf = (await sut.createWorkflow({ title: 'T', description: null })).id as string;
    const utf8 = (text: string) => new TextEncoder().encode(text);
    const many = `phone_number\r\n${Array.from({ length: 5_001 }, (_, i) => `+1415${String(i).padStart(7, '0')}`).join('\r\n')}`;
    const closed = sim.addWorkflow({ status: 'completed', leads: 0 });

    await expect(sut.uploadLeads(wf, utf8('name\r\nAna\r\n'))).rejects.toMatchObject({
      code: 'UPSTREAM_BAD_REQUEST',
      details: { status: 400, upstreamMessage: 'File must have a phone_number column' },
    });
    await expect(sut.uploadLeads(wf, utf8(many))).rejects.toMatchObject({
      code: 'UPSTREAM_PAYLOAD_TOO_LARGE',
    });
    await expect(sut.uploadLeads(closed, utf8('phone_number\r\n+14155550100\r\n'))).rejects.toMatchObject({
      code: 'UPSTREAM_CONFLICT',
    });
    expect(sim.snapshot(wf)!.leads).toEqual([]);
  });

  it('maps the create errors: 400 (message array), 404, 409; a 404 on an edge names a node', async () => {
    const wf = (await sut.createWorkflow({ title: 'T', description: null })).id as string;
    const active = sim.addWorkflow({ status: 'active', leads: 0 });
    const a = await sut.createNode(wf, nodeBody());

    await expect(sut.createWorkflow({ title: '', description: null })).rejects.toMatchObject({
      code: 'UPSTREAM_BAD_REQUEST',
      details: { upstreamMessage: 'title should not be empty' },
    });
    await expect(
      sut.createNode(wf, nodeBody({ config: { agent_id: 'agent_none00000001' } })),
    ).rejects.toMatchObject({
      code: 'UPSTREAM_BAD_REQUEST',
    });
    await expect(sut.createNode('wfl_nothere00001', nodeBody())).rejects.toMatchObject({
      code: 'WORKFLOW_NOT_FOUND',
    });
    await expect(sut.createNode(active, nodeBody())).rejects.toMatchObject({ code: 'UPSTREAM_CONFLICT' });
    await expect(
      sut.createEdge(wf, { from_node_id: a.id as string, to_node_id: 'node_gone00000001' }),
    ).rejects.toMatchObject({ code: 'UPSTREAM_NOT_FOUND' });
    await sut.createEdge(wf, { from_node_id: a.id as string, to_node_id: a.id as string, label: 'x' });
    await expect(
      sut.createEdge(wf, { from_node_id: a.id as string, to_node_id: a.id as string, label: 'x' }),
    ).rejects.toMatchObject({ code: 'UPSTREAM_CONFLICT' });
  });

  it('answers UPSTREAM_FORBIDDEN, creating nothing, for a key without write permission', async () => {
    await start({ apiKeys: [{ key: 'dnx_test_readonly_01', canWrite: false }] }, 'dnx_test_readonly_01');

    await expect(sut.createWorkflow({ title: 'T', description: null })).rejects.toMatchObject({
      code: 'UPSTREAM_FORBIDDEN',
      retryable: false,
    });
    expect(sim.requests).toHaveLength(1);
  });

  it('deletes a node and an edge, then finds them already gone', async () => {
    const wf = (await sut.createWorkflow({ title: 'T', description: null })).id as string;
    const a = await sut.createNode(wf, nodeBody());
    const b = await sut.createNode(wf, nodeBody());
    const edge = await sut.createEdge(wf, { from_node_id: a.id as string, to_node_id: b.id as string });

    await expect(sut.deleteEdge(wf, edge.id as string)).resolves.toBe('deleted');
    await expect(sut.deleteEdge(wf, edge.id as string)).resolves.toBe('already_gone');
    await expect(sut.deleteNode(wf, b.id as string)).resolves.toBe('deleted');
    await expect(sut.deleteNode(wf, b.id as string)).resolves.toBe('already_gone');
    expect(sim.snapshot(wf)!.nodes).toEqual([a]);
  });

  describe('a lost answer', () => {
    it.each([
      [
        'the connection drops after the create',
        (s: DialnexaSimulator) => s.faults.dropAfterPerformNext(1, { method: 'POST', path: /\/nodes$/ }),
      ],
      [
        'DialNexa answers 500 after the create',
        (s: DialnexaSimulator) => s.faults.failAfterPerformNext(1, { method: 'POST', path: /\/nodes$/ }),
      ],
    ])('when %s: UPSTREAM_OUTCOME_UNKNOWN, sent once, and the node exists', async (_, inject) => {
      const wf = (await sut.createWorkflow({ title: 'T', description: null })).id as string;
      inject(sim);
      sim.clearRequests();

      await expect(sut.createNode(wf, nodeBody())).rejects.toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
        retryable: true,
        details: { outcome: 'unknown' },
      });

      expect(sim.requests.map((r) => [r.method, r.performed])).toEqual([['POST', true]]);
      expect(sim.snapshot(wf)!.nodes).toHaveLength(1);
    });

    it('an upload whose answer is lost enrolled its leads: the caller must look before sending it again', async () => {
      const wf = (await sut.createWorkflow({ title: 'T', description: null })).id as string;
      sim.faults.dropAfterPerformNext(1, { method: 'POST', path: /\/leads$/ });

      await expect(
        sut.uploadLeads(wf, new TextEncoder().encode('phone_number\r\n+14155550100\r\n')),
      ).rejects.toMatchObject({ code: 'UPSTREAM_OUTCOME_UNKNOWN' });

      await expect(sut.count(wf, 'leads')).resolves.toBe(1);
    });

    it('a 429 is resent (nothing was created) and makes exactly one workflow', async () => {
      sim.faults.rateLimitNext(1, { method: 'POST', retryAfterS: 0 });

      const workflow = await sut.createWorkflow({ title: 'once', description: null });

      expect(sim.requests.map((r) => r.status)).toEqual([429, 201]);
      expect(sim.exists(workflow.id as string)).toBe(true);
    });

    it('a plain 503 (not performed) is still not resent: the client cannot tell it from a 5xx after the create', async () => {
      sim.faults.failNext(1, { method: 'POST' });

      await expect(sut.createWorkflow({ title: 'T', description: null })).rejects.toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
      });
      expect(sim.requests).toHaveLength(1);
    });
  });
});
