import { presentRestore } from './restore.presenter.js';
import type { Restore, RestoreItem, RestorePlan } from './restore.js';

function buildPlan(overrides: Partial<RestorePlan> = {}): RestorePlan {
  return {
    manifestKey: 'archive/wfl_old/td_1/final/manifest.json',
    manifestSha256: 'a'.repeat(64),
    workflow: { title: 'Spring', description: null },
    nodes: 2,
    edges: 1,
    leads: 3,
    leadFiles: 1,
    excludedLeads: { total: 4, byStatus: { removed: 4 } },
    unencodableLeads: { count: 0, leadIds: [] },
    requests: 5,
    secondsAtCurrentRate: 1,
    ...overrides,
  };
}

function buildRestore(overrides: Partial<Restore> = {}): Restore {
  const at = new Date('2026-12-02T10:00:00.000Z');
  return {
    id: 'rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M',
    teardownId: 'td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M',
    sourceWorkflowId: 'wfl_old',
    snapshot: 'final',
    reason: 'deleted by mistake',
    dryRun: false,
    excludeLeadStatuses: ['removed'],
    requestedBy: 'ops-admin',
    status: 'creating',
    fencingToken: 1n,
    claimsSinceProgress: 0,
    plan: buildPlan(),
    newWorkflowId: null,
    idMapKey: null,
    upstreamRequests: 3,
    error: null,
    createdAt: at,
    updatedAt: at,
    completedAt: null,
    ...overrides,
  };
}

const item = (overrides: Partial<RestoreItem>): RestoreItem => ({
  kind: 'node',
  seq: 0,
  oldId: 'node_a',
  newId: null,
  intendedAt: new Date(),
  leads: null,
  ...overrides,
});

describe(presentRestore.name, () => {
  it('counts what was created against the plan and builds the id map from the recorded items', () => {
    const items = [
      item({ kind: 'workflow', oldId: 'workflow', newId: 'wfl_new' }),
      item({ kind: 'node', seq: 0, oldId: 'node_a', newId: 'node_1' }),
      item({ kind: 'node', seq: 1, oldId: 'node_b', newId: null }), // an open intent
      item({ kind: 'leads', seq: 0, oldId: 'leads-file-0', newId: '2 leads', leads: { l1: 'n1', l2: 'n2' } }),
    ];

    const sut = presentRestore(buildRestore(), items);

    expect(sut.progress).toMatchObject({
      workflow: { done: 1, total: 1 },
      nodes: { done: 1, total: 2 },
      edges: { done: 0, total: 1 },
      leads: { done: 2, total: 3 },
      leadFiles: { done: 1, total: 1 },
      upstreamRequests: 3,
      requestsTotal: 5,
    });
    expect(sut.idMap).toEqual({
      workflow: { wfl_old: 'wfl_new' },
      nodes: { node_a: 'node_1' },
      edges: {},
      leads: { l1: 'n1', l2: 'n2' },
    });
  });

  it('lists what is never restored, the excluded leads by status, and unencodable leads only when there are some', () => {
    const plain = presentRestore(buildRestore(), []);
    const withUnencodable = presentRestore(
      buildRestore({ plan: buildPlan({ unencodableLeads: { count: 2, leadIds: ['l7', 'l9'] } }) }),
      [],
    );

    expect(plain.notRestored.map((n) => n.what)).toEqual([
      'leadProgress',
      'leadHistory',
      'callLogs',
      'originalIds',
      'statusAndTimestamps',
      'excludedLeads',
    ]);
    expect(plain.notRestored.at(-1)).toMatchObject({ count: 4, byStatus: { removed: 4 } });
    expect(withUnencodable.notRestored.at(-1)).toMatchObject({
      what: 'unencodableLeads',
      count: 2,
      leadIds: ['l7', 'l9'],
    });
  });

  it('before verifying, totals are unknown', () => {
    const sut = presentRestore(buildRestore({ status: 'queued', plan: null }), []);

    expect(sut.progress.nodes).toEqual({ done: 0, total: null });
    expect(sut.progress.requestsTotal).toBeNull();
  });

  it('a completed restore whose upload answers named fewer new leads than it sent lists the difference in notRestored', () => {
    const items = [
      item({ kind: 'workflow', oldId: 'workflow', newId: 'wfl_new' }),
      item({ kind: 'leads', oldId: 'leads-file-0', newId: '2 leads', leads: { l1: 'n1', l3: 'n3' } }),
    ];

    const sut = presentRestore(buildRestore({ status: 'completed', newWorkflowId: 'wfl_new' }), items);

    expect(sut.progress.leads).toEqual({ done: 2, total: 3 });
    expect(sut.notRestored).toContainEqual(expect.objectContaining({ what: 'unmappedLeads', count: 1 }));
  });

  it('a completed restore with every lead mapped lists no unmapped leads', () => {
    const items = [item({ kind: 'leads', newId: '3 leads', leads: { l1: 'n1', l2: 'n2', l3: 'n3' } })];

    const sut = presentRestore(buildRestore({ status: 'completed' }), items);

    expect(sut.notRestored.map((n) => n.what)).not.toContain('unmappedLeads');
  });
});
