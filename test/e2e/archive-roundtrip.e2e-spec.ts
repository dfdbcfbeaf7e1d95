import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { gunzipSync } from 'node:zlib';
import {
  api,
  DialnexaSimulator,
  readObject,
  resetDatabase,
  type RunningService,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';
import { escapeInvisible, jsonDifferences } from '../support/json-differences.ts';
import { toWireJson, type ServedBodies, type WorkflowSnapshot } from '../simulator/dialnexa-simulator.ts';
import {
  deeplyNested,
  HOSTILE_KEYS,
  HOSTILE_NUMBERS,
  HOSTILE_STRINGS,
  hostileCatalogue,
  longHostileText,
  objectWithHostileKeys,
  wireReplacer,
} from '../simulator/hostile-values.ts';

/**
 * Every value round-trips: for every object the archive holds, JSON.parse of what was stored is
 * exactly what DialNexa served, as JSON.parse read it (-0 stays -0, `__proto__` stays an own key,
 * lone surrogates, U+2028 and NUL stay what they were). Checked for the export snapshot (what was
 * served before the cancel) and the final one (what was served when the DELETE went out).
 *
 * NDJSON is split on "\n" only: readline would also split at U+2028 and U+2029.
 *
 * A failing property prints fast-check's seed and path; to replay it, run this file with
 * FC_SEED=<seed> FC_PATH=<path> (FC_NUM_RUNS changes the number of runs).
 */
describe('archive round trip (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;
  let workflows = 0;

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 50, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url, { DELETE_SETTLE_TIMEOUT_S: '5' }));
    client = api(service.url);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
  });

  interface Archived {
    workflow: unknown;
    nodes: unknown;
    edges: unknown;
    leads: unknown[];
  }

  async function readArchive(manifestKey: string): Promise<Archived> {
    const manifest = JSON.parse((await readObject(manifestKey)).toString('utf8')) as {
      objects: Array<{ key: string; records: number }>;
    };
    const read = async (name: string): Promise<Buffer> =>
      readObject(manifest.objects.find((o) => o.key.endsWith(`/${name}`))!.key);
    const leadsText = gunzipSync(await read('leads.ndjson.gz')).toString('utf8');
    return {
      workflow: JSON.parse((await read('workflow.json')).toString('utf8')),
      nodes: JSON.parse((await read('nodes.json')).toString('utf8')),
      edges: JSON.parse((await read('edges.json')).toString('utf8')),
      leads: leadsText
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as unknown),
    };
  }

  function differences(snapshot: string, archived: Archived, served: WorkflowSnapshot): string[] {
    return [
      ...jsonDifferences(archived.workflow, served.workflow, `${snapshot} workflow.json`),
      ...jsonDifferences(archived.nodes, served.nodes, `${snapshot} nodes.json`),
      ...jsonDifferences(archived.edges, served.edges, `${snapshot} edges.json`),
      ...jsonDifferences(archived.leads, served.leads, `${snapshot} leads.ndjson.gz`),
    ];
  }

  /**
   * Serves `bodies`, tears the workflow down through the REST API, and returns every way the
   * export and final archives differ from what was served (empty when everything round-tripped).
   */
  async function tearDownAndCompare(bodies: ServedBodies, paginateNodes = true): Promise<string[]> {
    const workflowId = sim.addServedWorkflow(bodies, { paginateNodes });
    const servedAtExport = sim.snapshot(workflowId)!;
    const notServedAsGiven = jsonDifferences(servedAtExport, JSON.parse(toWireJson(bodies)), 'simulator');
    if (notServedAsGiven.length > 0) return notServedAsGiven;
    let servedAtDelete: WorkflowSnapshot | undefined;
    const unhook = sim.onRequest((method, path) => {
      if (method === 'DELETE' && path.endsWith(`/${workflowId}`)) servedAtDelete ??= sim.snapshot(workflowId);
    });
    try {
      const created = await client.create({ workflowId, reason: 'archive round trip' });
      if (created.status !== 202)
        return [`teardown not created: ${created.status} ${JSON.stringify(created.body)}`];
      const done = await client.waitForEnd(String(created.body['id']));
      if (done['status'] !== 'completed') {
        const error = done['error'] as { code: string; step: string; message: string } | null;
        return [`teardown ${done['status']} at ${error?.step}: ${error?.code}: ${error?.message}`];
      }
      const archive = done['archive'] as { manifestKey: string; final: { manifestKey: string } };
      return [
        ...differences('export', await readArchive(archive.manifestKey), servedAtExport),
        ...differences('final', await readArchive(archive.final.manifestKey), servedAtDelete!),
      ];
    } finally {
      unhook();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Arbitrary bodies

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
  const LEAD_STATUSES = ['pending', 'in_progress', 'completed', 'removed', 'failed', 'active'] as const;
  const TRANSIT_STATUSES: ReadonlySet<string> = new Set(['pending', 'in_progress', 'active']);
  const WORKFLOW_STATUSES = ['draft', 'active', 'running', 'paused', 'completed', 'cancelled'] as const;

  // `binary` strings hold any code unit sequence, lone surrogates included; fast-check also favours
  // `__proto__`, `constructor` and the like as keys.
  const anyString = fc.string({ unit: 'binary', maxLength: 40 });
  const key = fc.oneof(anyString, fc.constantFrom(...HOSTILE_KEYS));
  const leaf = fc.oneof(
    { weight: 6, arbitrary: fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...HOSTILE_NUMBERS.map((n) => JSON.parse(toWireJson(n)) as number)),
    },
    { weight: 2, arbitrary: fc.constantFrom(...Object.values(HOSTILE_STRINGS)) },
    // long enough to cross gzip blocks and upload parts of the stream; 1 MB strings are in the seed
    { weight: 1, arbitrary: fc.constantFrom(1 << 10, 1 << 14).map(longHostileText) },
  );
  const value = fc.oneof(
    { weight: 8, arbitrary: leaf },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 2, max: 100 }), leaf).map(([depth, inner]) => nest(depth, inner)),
    },
  );
  /** Fields whose keys and values are anything: merged under the structure the service relies on. */
  const freeFields = fc.dictionary(key, value, { maxKeys: 5, noNullPrototype: true });

  function nest(depth: number, inner: unknown): unknown {
    let nested = inner;
    for (let level = 1; level < depth; level++)
      nested = level % 3 === 0 ? [nested] : Object.fromEntries([[`l${level}`, nested]]);
    return nested;
  }

  /** A spread defines keys, so an own `__proto__` in `free` stays a key; `structure` wins. */
  function withStructure(
    free: Record<string, unknown>,
    structure: Record<string, unknown>,
  ): Record<string, unknown> {
    return { ...free, ...structure };
  }

  const bodiesArb = fc
    .record({
      workflow: freeFields,
      workflowStatus: fc.constantFrom(...WORKFLOW_STATUSES),
      nodes: fc.array(
        fc.record({
          type: fc.constantFrom(...NODE_TYPES, 'AI_SUMMARY'),
          free: freeFields,
          config: freeFields,
        }),
        {
          maxLength: 4,
        },
      ),
      edges: fc.array(fc.record({ from: fc.nat(), to: fc.nat(), free: freeFields }), { maxLength: 4 }),
      leads: fc.array(
        fc.record({
          status: fc.constantFrom(...LEAD_STATUSES),
          node: fc.nat(),
          free: freeFields,
          metadata: freeFields,
        }),
        { maxLength: 12 },
      ),
      paginateNodes: fc.boolean(),
    })
    .map((drawn) => {
      const workflowId = `wfl_roundtrip${String(++workflows).padStart(4, '0')}`;
      const nodeIds = drawn.nodes.map((_, i) => `node_rt${i}`);
      // `data` beside a numeric `statusCode` is the envelope of DialNexa's other API description
      // (dialnexa-api.md): a workflow with both would rightly be unwrapped, so it gets neither.
      const workflowFree = Object.fromEntries(Object.entries(drawn.workflow).filter(([k]) => k !== 'data'));
      // A workflow cancelled or completed long ago has no lead left in transit: DialNexa settled
      // them. (The simulator would settle them on a timer, racing tearDownAndCompare's snapshot.)
      const terminalWorkflow = drawn.workflowStatus === 'cancelled' || drawn.workflowStatus === 'completed';
      const leadStatus = (status: (typeof LEAD_STATUSES)[number], nodeType: string | undefined) => {
        if (!TRANSIT_STATUSES.has(status)) return status;
        // The contract says a lead on no node is not in transit, but the service waits for such
        // leads until DELETE_SETTLE_TIMEOUT_S (teardown.runner.ts, waitForLeadsToSettle; reported):
        // this property is about values, so they are settled too.
        if (nodeType === undefined || (terminalWorkflow && !['CONVERTED', 'DROPPED'].includes(nodeType)))
          return status === 'pending' ? 'removed' : 'completed';
        return status;
      };
      const bodies: ServedBodies = {
        workflow: withStructure(workflowFree, { id: workflowId, status: drawn.workflowStatus }),
        nodes: drawn.nodes.map((node, i) =>
          withStructure(node.free, {
            id: nodeIds[i],
            workflow_id: workflowId,
            node_type: node.type,
            config: node.config,
          }),
        ),
        edges:
          nodeIds.length === 0
            ? []
            : drawn.edges.map((edge, i) =>
                withStructure(edge.free, {
                  id: `edge_rt${i}`,
                  workflow_id: workflowId,
                  from_node_id: nodeIds[edge.from % nodeIds.length],
                  to_node_id: nodeIds[edge.to % nodeIds.length],
                }),
              ),
        leads: drawn.leads.map((lead, i) => {
          const node = drawn.nodes.length === 0 ? undefined : lead.node % drawn.nodes.length;
          return withStructure(lead.free, {
            id: `wlead_rt${i}`,
            workflow_id: workflowId,
            metadata: lead.metadata,
            status: leadStatus(lead.status, node === undefined ? undefined : drawn.nodes[node]!.type),
            current_node_id: node === undefined ? null : nodeIds[node],
          });
        }),
      };
      return {
        bodies,
        paginateNodes: drawn.paginateNodes,
        // the counterexample fast-check prints: long strings shortened, so a failure stays readable
        [fc.toStringMethod]: () => `${briefly(bodies)} paginateNodes=${drawn.paginateNodes}`,
      };
    });

  function briefly(value: unknown): string {
    const json = JSON.stringify(value, (key, v: unknown) =>
      typeof v === 'string' && v.length > 80
        ? `${v.slice(0, 40)}… (${v.length} code units)`
        : wireReplacer(key, v),
    );
    return escapeInvisible(json);
  }

  it('archives arbitrary JSON bodies exactly as served, for the export and the final snapshot', async () => {
    const seed = process.env['FC_SEED'] === undefined ? undefined : Number(process.env['FC_SEED']);
    await fc.assert(
      fc.asyncProperty(bodiesArb, async ({ bodies, paginateNodes }) => {
        expect(await tearDownAndCompare(bodies, paginateNodes)).toEqual([]);
      }),
      {
        numRuns: Number(process.env['FC_NUM_RUNS'] ?? 15),
        seed,
        path: process.env['FC_PATH'],
        // Each run is a whole teardown (about 2 s): this bounds the shrinking of a failure, which
        // is still reported with its seed. Runs cut short without a failure pass: slowness alone
        // must not turn the suite red.
        interruptAfterTimeLimit: 70_000,
      },
    );
  }, 150_000);

  it('archives a workflow whose leads hold every kind of hostile value, one kind per lead', async () => {
    const workflowId = 'wfl_everykind0001';
    const nodes = [
      {
        id: 'node_call',
        workflow_id: workflowId,
        node_type: 'VOICE_CALL',
        label: HOSTILE_STRINGS['zwjSequences'],
        config: hostileCatalogue(100),
      },
      {
        id: 'node_done',
        workflow_id: workflowId,
        node_type: 'CONVERTED',
        label: HOSTILE_STRINGS['arabic'],
        config: {},
      },
    ];
    const lead = (kind: string, metadata: unknown, index: number) => ({
      id: `wlead_kind${index}`,
      workflow_id: workflowId,
      phone_number: `+1415555${String(index).padStart(4, '0')}`,
      metadata: { kind, value: metadata },
      status: index % 2 === 0 ? 'completed' : 'in_progress',
      current_node_id: index % 2 === 0 ? 'node_done' : 'node_call',
      enrolled_at: '2024-04-01T08:00:00.000Z',
    });
    const kinds: Array<[string, unknown]> = [
      ...Object.entries(HOSTILE_STRINGS),
      // each hostile string as a key too, and every key that collides with Object.prototype
      ['stringsAsKeys', Object.fromEntries(Object.values(HOSTILE_STRINGS).map((text, i) => [text, i]))],
      ['keys', objectWithHostileKeys((k) => k)],
      ['numbers', HOSTILE_NUMBERS],
      ['nesting', deeplyNested(100)],
      ['megabyte', longHostileText(1 << 20)],
    ];
    const bodies: ServedBodies = {
      workflow: {
        id: workflowId,
        name: `${HOSTILE_STRINGS['hebrew']} ${HOSTILE_STRINGS['emoji']}`,
        description: HOSTILE_STRINGS['lineSeparators'],
        status: 'active',
        notes: Object.values(HOSTILE_STRINGS).join('\n'),
      },
      nodes,
      edges: [
        {
          id: 'edge_1',
          workflow_id: workflowId,
          from_node_id: 'node_call',
          to_node_id: 'node_done',
          label: HOSTILE_STRINGS['nul'],
        },
      ],
      leads: kinds.map(([kind, v], i) => lead(kind, v, i)),
    };

    await expect(tearDownAndCompare(bodies)).resolves.toEqual([]);
    expect(sim.exists(workflowId)).toBe(false);
  });
});
