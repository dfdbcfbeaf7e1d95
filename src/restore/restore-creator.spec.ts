import { DomainError } from '../common/domain-error.js';
import type { JsonObject } from '../common/json.js';
import { RestoreCreator, restoredDescription } from './restore-creator.js';
import { buildArchivedWorkflow, buildNode } from './testing/archived-workflow.factory.js';
import { FakeRestoreUpstream, phoneOnlyCsv } from './testing/fake-restore-upstream.js';
import { MemoryItemLog } from './testing/memory-item-log.js';

describe(RestoreCreator.name, () => {
  let upstream: FakeRestoreUpstream;
  let log: MemoryItemLog;

  beforeEach(() => {
    upstream = new FakeRestoreUpstream();
    log = new MemoryItemLog();
  });

  const run = () => new RestoreCreator(upstream, log).createAll(buildArchivedWorkflow());

  /** The one restored workflow, as the upstream holds it. */
  function restored() {
    expect(upstream.workflows.size).toBe(1);
    const [id] = [...upstream.workflows.keys()];
    return {
      id: id!,
      nodes: upstream.nodes.get(id!)!,
      edges: upstream.edges.get(id!)!,
      leads: upstream.leads.get(id!)!,
    };
  }

  function expectCompleteCopy() {
    const { nodes, edges, leads } = restored();
    expect(nodes.map((n) => [n['node_type'], n['label']])).toEqual([
      ['START', 'Start'],
      ['VOICE_CALL', 'Call'],
      ['VOICE_CALL', 'Call'],
    ]);
    const newId = (old: string) => log.rows.get(`node:${['node_a', 'node_b', 'node_c'].indexOf(old)}`)!.newId;
    expect(edges.map((e) => [e['from_node_id'], e['to_node_id'], e['label']])).toEqual([
      [newId('node_a'), newId('node_b'), null],
      [newId('node_b'), newId('node_c'), 'NO_ANSWER'],
      [newId('node_b'), newId('node_a'), 'COMPLETED'],
    ]);
    // the removed lead and the unencodable one stay out; a number enrolled twice comes back twice
    expect(leads.map((l) => l['phone_number'])).toEqual(['+14155550101', '+14155550104', '+14155550101']);
  }

  it('creates the draft, its nodes, its edges in archived order through the id map, and its leads', async () => {
    const workflowId = await run();

    expectCompleteCopy();
    expect(restored().id).toBe(workflowId);
    expect(upstream.workflows.get(workflowId)).toMatchObject({
      title: 'Spring campaign',
      status: 'draft',
      description: restoredDescription('calls', 'rst_01TEST', 'td_01TEST'),
    });
    const leads = Object.assign({}, ...[...log.rows.values()].map((r) => r.leads ?? {})) as Record<
      string,
      string
    >;
    expect(Object.keys(leads).sort()).toEqual(['wlead_1', 'wlead_4', 'wlead_5']);
    expect(new Set(Object.values(leads)).size).toBe(3);
  });

  // 2 writes per object: intent, then result. 1 workflow + 3 nodes + 3 edges + 1 leads file.
  const WRITES = 2 * (1 + 3 + 3 + 1);

  // write 1 is the draft's result: lost with the process, it cannot be looked up (next test)
  const RECOVERABLE = Array.from({ length: WRITES }, (_, k) => k).filter((k) => k !== 1);

  it.each(RECOVERABLE)(
    'a crash at log write %i, then a resume: one workflow, one copy of each node, edge and lead',
    async (k) => {
      log.crashAfterCalls(k);
      await expect(run()).rejects.toThrow('crash');

      await run();

      expectCompleteCopy();
    },
  );

  it('a crash between the draft create and its record stops the resume: no second workflow', async () => {
    log.crashAfterCalls(1);
    await expect(run()).rejects.toThrow('crash');

    await expect(run()).rejects.toMatchObject({ code: 'RESTORE_DRAFT_UNCERTAIN', retryable: false });

    expect(upstream.workflows.size).toBe(1);
    expect(upstream.creates('workflow')).toBe(1);
    expect(upstream.creates('node')).toBe(0);
  });

  it.each(['node', 'edge', 'leads'] as const)(
    'a lost answer to a %s create is looked up before anything is sent again',
    async (kind) => {
      upstream.failNext(kind, 'lost');
      await expect(run()).rejects.toMatchObject({ code: 'UPSTREAM_OUTCOME_UNKNOWN' });

      await run();

      expectCompleteCopy();
    },
  );

  it.each(['node', 'edge', 'leads'] as const)(
    'a %s create that was not performed is sent again after the lookup finds nothing',
    async (kind) => {
      upstream.failNext(kind, 'unsent');
      await expect(run()).rejects.toMatchObject({ code: 'UPSTREAM_OUTCOME_UNKNOWN' });

      await run();

      expectCompleteCopy();
    },
  );

  it('a lost answer to the workflow create stops the restore, naming how to recognise the draft', async () => {
    upstream.failNext('workflow', 'lost');

    const error = (await run().catch((e: unknown) => e)) as DomainError;

    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe('RESTORE_DRAFT_UNCERTAIN');
    expect(error.details).toMatchObject({
      title: 'Spring campaign',
      descriptionMarker: 'restore rst_01TEST',
    });
    await expect(run()).rejects.toMatchObject({ code: 'RESTORE_DRAFT_UNCERTAIN' });
    expect(upstream.creates('workflow')).toBe(1);
    expect(upstream.creates('node')).toBe(0);
  });

  it('a refused workflow create leaves nothing upstream and no open intent', async () => {
    upstream.failNext('workflow', 'refused');

    await expect(run()).rejects.toMatchObject({ code: 'UPSTREAM_BAD_REQUEST' });

    expect(upstream.workflows.size).toBe(0);
    expect(log.rows.size).toBe(0);
    expect(upstream.creates('node') + upstream.creates('edge') + upstream.creates('leads')).toBe(0);
  });

  it('a refused node stops before any later node, edge or lead is sent', async () => {
    upstream.failNext('node', 'refused');

    await expect(run()).rejects.toMatchObject({ code: 'UPSTREAM_BAD_REQUEST' });

    expect(restored().nodes).toHaveLength(0);
    expect(upstream.creates('node')).toBe(1);
    expect(upstream.creates('edge')).toBe(0);
    expect(upstream.creates('leads')).toBe(0);
    expect([...log.rows.keys()]).toEqual(['workflow:0']);
  });

  it('a resumed restore with everything recorded sends nothing', async () => {
    await run();
    const sent = upstream.calls.length;

    await run();

    expect(upstream.calls.length).toBe(sent);
  });

  it('a draft create aborted before it was sent (a shutdown at the rate gate) is sent on resume: one workflow, no RESTORE_DRAFT_UNCERTAIN', async () => {
    upstream.failNext('workflow', 'aborted');
    await expect(run()).rejects.toThrow('aborted while waiting at the rate gate');
    expect(log.rows.size).toBe(0); // no intent: nothing went out

    await run();

    expect(upstream.creates('workflow')).toBe(1);
    expectCompleteCopy();
  });

  it('a lost answer to creating a node whose config holds a lone surrogate and -0 is found by the lookup: one copy', async () => {
    const config = { notes: 'broken emoji \ud83d here', variables: { zero: -0, list: ['\ude00', 1] } };
    const archived = buildArchivedWorkflow();
    archived.nodes = archived.nodes.map((n) => (n['id'] === 'node_a' ? { ...n, config } : n)); // the first node created
    upstream.failNext('node', 'lost');
    const sut = () => new RestoreCreator(upstream, log).createAll(archived);
    await expect(sut()).rejects.toMatchObject({ code: 'UPSTREAM_OUTCOME_UNKNOWN' });
    // DialNexa may serve the config with its keys in another order and -0 as 0
    const [workflowId] = [...upstream.workflows.keys()];
    const served = upstream.nodes.get(workflowId!)!;
    served[0] = {
      ...served[0]!,
      config: { variables: { list: ['\ude00', 1], zero: 0 }, notes: config.notes },
    };

    await sut();

    expect(upstream.creates('node')).toBe(3);
    expect(upstream.nodes.get(workflowId!)!.map((n) => n['label'])).toEqual(['Start', 'Call', 'Call']);
  });

  it.each(['node', 'edge', 'leads'] as const)(
    'a 429 or 5xx while looking up a lost %s create sends nothing again: the lookup is retried, never skipped',
    async (kind) => {
      upstream.failNext(kind, 'lost');
      await expect(run()).rejects.toMatchObject({ code: 'UPSTREAM_OUTCOME_UNKNOWN' });
      const sent = upstream.creates(kind);
      const unavailable = new DomainError('UPSTREAM_RATE_LIMITED', 'DialNexa answered 429', {
        retryable: true,
      });
      const listAll = upstream.listAll.bind(upstream);
      const pages = upstream.pages.bind(upstream);
      upstream.listAll = () => Promise.reject(unavailable);
      // eslint-disable-next-line require-yield -- a listing that fails at its first page
      upstream.pages = async function* () {
        await Promise.resolve();
        throw unavailable;
      };

      await expect(run()).rejects.toBe(unavailable);

      expect(upstream.creates(kind)).toBe(sent);
      upstream.listAll = listAll;
      upstream.pages = pages;
      await run();
      expectCompleteCopy();
    },
  );

  it('a lost upload of a second file whose phone number the first file enrolled too maps to its own new lead', async () => {
    const file = (seq: number, oldId: string) => ({
      seq,
      rows: [{ oldId, phone: '+14155550101' }],
      csv: phoneOnlyCsv([{ phone_number: '+14155550101' }]).csv,
    });
    const archived = buildArchivedWorkflow({
      leadFiles: async function* () {
        yield file(0, 'wlead_first');
        yield file(1, 'wlead_second');
      },
    });
    const upload = upstream.uploadLeads.bind(upstream);
    let uploads = 0;
    upstream.uploadLeads = (workflowId, csv, opts) => {
      uploads += 1;
      if (uploads === 2) upstream.failNext('leads', 'lost');
      return upload(workflowId, csv, opts);
    };
    const sut = () => new RestoreCreator(upstream, log).createAll(archived);
    await expect(sut()).rejects.toMatchObject({ code: 'UPSTREAM_OUTCOME_UNKNOWN' });

    await sut();

    const [workflowId] = [...upstream.workflows.keys()];
    const leads = upstream.leads.get(workflowId!)!.map((l) => l['id']);
    expect(leads).toHaveLength(2);
    expect([log.rows.get('leads:0')!.leads, log.rows.get('leads:1')!.leads]).toEqual([
      { wlead_first: leads[0] },
      { wlead_second: leads[1] },
    ]);
  });

  it('finds a node whose lost answer holds hostile config (lone surrogates, other key order, __proto__)', async () => {
    const config = JSON.parse('{"b": "\\ud800 lone", "a": [-0, 1e21, {"__proto__": "own"}]}') as JsonObject;
    const archived = buildArchivedWorkflow({ nodes: [buildNode({ id: 'node_x', config })], edges: [] });
    upstream.failNext('node', 'lost');
    const sut = () => new RestoreCreator(upstream, log).createAll(archived);
    await expect(sut()).rejects.toMatchObject({ code: 'UPSTREAM_OUTCOME_UNKNOWN' });
    // DialNexa serves the keys in another order
    const [workflowId] = [...upstream.workflows.keys()];
    const [node] = upstream.nodes.get(workflowId!)!;
    node!['config'] = JSON.parse(
      '{"a": [-0, 1e21, {"__proto__": "own"}], "b": "\\ud800 lone"}',
    ) as JsonObject;

    await sut();

    expect(upstream.nodes.get(workflowId!)).toHaveLength(1);
    expect(upstream.creates('node')).toBe(1);
  });
});
