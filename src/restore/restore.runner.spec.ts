import { describe, expect, it } from '@jest/globals';
import type { ArchiveService } from '../archive/archive.service.js';
import type { ArchiveRef, ManifestObject } from '../archive/manifest.js';
import { DomainError } from '../common/domain-error.js';
import type { JsonObject } from '../common/json.js';
import { loadConfig } from '../config/app.config.js';
import type { Restore, RestoreSource } from './restore.js';
import { idMapKeyOf, RestoreRunner } from './restore.runner.js';
import { buildLead, buildNode } from './testing/archived-workflow.factory.js';
import { FakeRestoreUpstream, phoneOnlyCsv } from './testing/fake-restore-upstream.js';
import { FakeRestoreRepository } from './testing/restore-repository.fake.js';

const config = loadConfig({
  DATABASE_URL: 'postgresql://svc@db:5432/teardown_test',
  DIALNEXA_API_KEY: 'dnx_test_k3yS3cr3tV4lu3',
  S3_BUCKET: 'archive',
  API_KEYS: JSON.stringify([{ name: 'ops-admin', key: 'plain-key-0000000001', roles: ['admin'] }]),
  RUNNER_MAX_CLAIMS_WITHOUT_PROGRESS: '3',
});

const object = (name: string): ManifestObject => ({
  key: `archive/wfl_old/td_1/final/${name}`,
  bytes: 1,
  sha256: 'a'.repeat(64),
  records: 1,
  contentType: name.endsWith('.gz') ? 'application/gzip' : 'application/json',
  versionId: null,
});

const REF: ArchiveRef = {
  bucket: 'archive',
  manifestKey: 'archive/wfl_old/td_1/final/manifest.json',
  manifestSha256: 'b'.repeat(64),
  manifestVersionId: null,
  counts: { nodes: 2, edges: 1, leads: 3 },
  objects: ['workflow.json', 'nodes.json', 'edges.json', 'leads.ndjson.gz'].map(object),
  verifiedAt: null,
};

const RECORDS: Record<string, JsonObject[]> = {
  'workflow.json': [{ id: 'wfl_old', title: 'Spring', description: null }],
  'nodes.json': [buildNode({ id: 'node_a' }), buildNode({ id: 'node_b', label: 'Second' })],
  'edges.json': [{ id: 'edge_1', from_node_id: 'node_a', to_node_id: 'node_b', label: null }],
  'leads.ndjson.gz': [
    buildLead({ id: 'l1', phone_number: '+14155550101' }),
    buildLead({ id: 'l2', phone_number: '+14155550102', status: 'removed' }),
    buildLead({ id: 'l3', phone_number: '+14155550103' }),
  ],
};

function buildRestore(overrides: Partial<Restore> = {}): Restore {
  const at = new Date();
  return {
    id: 'rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M',
    teardownId: 'td_1',
    sourceWorkflowId: 'wfl_old',
    snapshot: 'final',
    reason: 'deleted by mistake',
    dryRun: false,
    excludeLeadStatuses: ['removed'],
    requestedBy: 'ops-admin',
    status: 'queued',
    fencingToken: 0n,
    claimsSinceProgress: 0,
    plan: null,
    newWorkflowId: null,
    idMapKey: null,
    upstreamRequests: 0,
    error: null,
    createdAt: at,
    updatedAt: at,
    completedAt: null,
    ...overrides,
  };
}

/** The runner over fakes: the archive verifies (or throws `verifyError`), and id maps are kept. */
function build(restore: Restore = buildRestore(), verifyError: Error | null = null) {
  const repo = new FakeRestoreRepository(restore);
  const upstream = new FakeRestoreUpstream();
  const written = new Map<string, Buffer>();
  const archive = {
    verify: (ref: ArchiveRef) => (verifyError ? Promise.reject(verifyError) : Promise.resolve(ref)),
    async *readRecords(o: ManifestObject) {
      await Promise.resolve();
      yield* RECORDS[o.key.slice(o.key.lastIndexOf('/') + 1)]!;
    },
    writeOnceLocked: (key: string, body: Buffer) => {
      written.set(key, body);
      return Promise.resolve({ bytes: body, versionId: null });
    },
  } as unknown as ArchiveService;
  const source: RestoreSource = {
    id: 'td_1',
    workflowId: 'wfl_old',
    status: 'completed',
    dryRun: false,
    archive: { ...REF, final: REF },
  };
  const teardowns = { findById: () => Promise.resolve(source) };
  const sut = new RestoreRunner(repo.asRepository(), archive, upstream, teardowns, phoneOnlyCsv, config);
  return { sut, repo, upstream, written };
}

describe(RestoreRunner.name, () => {
  it('verifies, creates the draft, its nodes, edge and leads, writes the id map, and completes', async () => {
    const { sut, repo, upstream, written } = build();

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore).toMatchObject({
      status: 'completed',
      error: null,
      idMapKey: idMapKeyOf(config.archive.prefix, repo.restore.id),
    });
    expect(repo.restore.newWorkflowId).toBe([...upstream.workflows.keys()][0]);
    expect(repo.restore.plan).toMatchObject({ nodes: 2, edges: 1, leads: 2, leadFiles: 1, requests: 5 });
    const idMap = JSON.parse(written.get(repo.restore.idMapKey!)!.toString('utf8')) as JsonObject;
    expect(idMap).toMatchObject({ restoreId: repo.restore.id, newWorkflowId: repo.restore.newWorkflowId });
    expect(Object.keys((idMap['idMap'] as { leads: JsonObject }).leads)).toEqual(['l1', 'l3']);
    expect(repo.events.map((e) => [e.type, e.actor, e.teardownId])).toEqual([
      ['restore.completed', 'system', 'td_1'],
    ]);
  });

  it('a damaged archive fails the restore before anything is created upstream, and no id map is written', async () => {
    const damaged = new DomainError('ARCHIVE_VERIFICATION_FAILED', 'the archive does not match its manifest');
    const { sut, repo, upstream, written } = build(buildRestore(), damaged);

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore.status).toBe('failed');
    expect(repo.restore.error).toMatchObject({ code: 'ARCHIVE_VERIFICATION_FAILED', retryable: false });
    expect(repo.restore.error!.details['createdUpstream']).toEqual({
      workflowId: null,
      nodes: 0,
      edges: 0,
      leads: 0,
      unconfirmed: [],
    });
    expect(upstream.calls).toEqual([]);
    expect(written.size).toBe(0);
    expect(repo.events.map((e) => e.type)).toEqual(['restore.failed']);
  });

  it('a dry run reports the plan and creates nothing', async () => {
    const { sut, repo, upstream, written } = build(buildRestore({ dryRun: true }));

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore.status).toBe('completed');
    expect(repo.restore.plan).toMatchObject({
      requests: 5,
      excludedLeads: { total: 1, byStatus: { removed: 1 } },
    });
    expect(repo.restore.plan!.secondsAtCurrentRate).toBe(1); // 5 requests at 10 per second
    expect(upstream.calls).toEqual([]);
    expect(written.size).toBe(0);
    expect(repo.events[0]).toMatchObject({ type: 'restore.completed', details: { dryRun: true } });
  });

  it('a retryable failure is recorded and thrown back to the queue, the restore still running', async () => {
    const { sut, repo, upstream } = build();
    upstream.failNext('node', 'unsent');

    await expect(sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M')).rejects.toMatchObject({
      code: 'UPSTREAM_OUTCOME_UNKNOWN',
    });
    expect(repo.restore).toMatchObject({
      status: 'creating',
      error: { code: 'UPSTREAM_OUTCOME_UNKNOWN', retryable: true },
    });
    expect(repo.events).toEqual([]);

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore).toMatchObject({ status: 'completed', error: null });
    expect(upstream.workflows.size).toBe(1);
    expect(upstream.nodes.get(repo.restore.newWorkflowId!)).toHaveLength(2);
  });

  it('a lost draft create fails for good, saying what may exist upstream, and sends nothing more', async () => {
    const { sut, repo, upstream } = build();
    upstream.failNext('workflow', 'lost');

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore.status).toBe('failed');
    expect(repo.restore.error).toMatchObject({ code: 'RESTORE_DRAFT_UNCERTAIN', retryable: false });
    expect(repo.restore.error!.details['createdUpstream']).toMatchObject({
      workflowId: null,
      unconfirmed: ['workflow workflow'],
    });
    expect(upstream.creates('node')).toBe(0);
  });

  it('a restore claimed too often without progress fails with RESTORE_CRASH_LOOP', async () => {
    const { sut, repo, upstream } = build(buildRestore({ status: 'creating', claimsSinceProgress: 3 }));

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore.error).toMatchObject({ code: 'RESTORE_CRASH_LOOP' });
    expect(upstream.calls).toEqual([]);
  });

  it('a shutdown in the middle leaves the restore running, its intent open, for the next claim', async () => {
    const { sut, repo, upstream } = build();
    const createNode = upstream.createNode.bind(upstream);
    let calls = 0;
    upstream.createNode = (workflowId, body) => {
      calls += 1;
      if (calls === 2) {
        sut.stop();
        return Promise.reject(new Error('aborted: shutting down'));
      }
      return createNode(workflowId, body);
    };

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore).toMatchObject({ status: 'creating', error: null });
    expect(repo.events).toEqual([]);
    expect([...repo.log.rows.values()].filter((r) => r.newId === null).map((r) => r.oldId)).toEqual([
      'node_b',
    ]);
  });

  it('a lease lost once the draft exists: no node, edge or lead create is sent after it, nothing failed', async () => {
    const { sut, repo, upstream } = build();
    const createWorkflow = upstream.createWorkflow.bind(upstream);
    upstream.createWorkflow = async (body, opts) => {
      const created = await createWorkflow(body, opts);
      // another worker claims the restore while this one still runs (its renewal has not told it yet)
      repo.holdsLease = () => Promise.resolve(false);
      return created;
    };

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(upstream.calls.filter((c) => c.startsWith('create:'))).toEqual(['create:workflow']);
    expect(repo.restore).toMatchObject({ status: 'creating', error: null });
    expect(repo.events).toEqual([]);
  });

  it('an upload refused with a message naming a phone number: neither the restore error nor restore.failed quotes it', async () => {
    const { sut, repo, upstream } = build();
    upstream.uploadLeads = () =>
      Promise.reject(
        new DomainError(
          'UPSTREAM_BAD_REQUEST',
          'DialNexa answered 400 to POST /v1/workflows/wfl_new/leads: +14155550101 is not a valid number',
          {
            details: {
              status: 400,
              upstreamMessage: '+14155550101 is not a valid number; row 2: 1 (415) 555-0103',
            },
          },
        ),
      );

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore.status).toBe('failed');
    expect(repo.restore.error).toMatchObject({ code: 'UPSTREAM_BAD_REQUEST', details: { status: 400 } });
    const stored = JSON.stringify([repo.restore.error, repo.events]);
    expect(stored).toContain('restore.failed');
    expect(stored).not.toMatch(/4155550101|555-0103/);
  });

  it('creating reads only the snapshot it verified: a teardown now naming another manifest fails the restore, nothing created', async () => {
    const verified = { ...REF, manifestSha256: 'c'.repeat(64) }; // what verifying read and planned from
    const plan = { manifestKey: verified.manifestKey, manifestSha256: verified.manifestSha256 };
    const { sut, repo, upstream, written } = build(
      buildRestore({ status: 'creating', plan: plan as unknown as Restore['plan'] }),
    );

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore).toMatchObject({ status: 'failed', error: { code: 'ARCHIVE_VERIFICATION_FAILED' } });
    expect(upstream.calls).toEqual([]);
    expect(written.size).toBe(0);
  });

  it('an unexpected error (a database hiccup) is retried like an outage, not recorded as the end', async () => {
    const { sut, repo, upstream } = build();
    const log = repo.log;
    const record = log.record.bind(log);
    let calls = 0;
    log.record = (...args) =>
      ++calls === 3 ? Promise.reject(new Error('Transaction already closed')) : record(...args);

    await expect(sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M')).rejects.toMatchObject({
      code: 'INTERNAL_ERROR',
      retryable: true,
    });
    expect(repo.restore.status).toBe('creating');
    expect(repo.events).toEqual([]);

    await sut.run('rst_01JB6Z3K4V9Q2W8E5R7T1Y3X6M');

    expect(repo.restore.status).toBe('completed');
    expect(upstream.nodes.get(repo.restore.newWorkflowId!)).toHaveLength(2);
  });
});
