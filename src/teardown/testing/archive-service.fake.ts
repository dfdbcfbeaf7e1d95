import type {
  ArchiveService,
  ArchiveTarget,
  ExportSource,
  WriteFence,
} from '../../archive/archive.service.js';
import type { ArchiveRef, ArchiveSnapshot, Manifest } from '../../archive/manifest.js';
import { buildArchiveRef } from './teardown.factories.js';

type Failing = 'export' | 'verify';

/**
 * ArchiveService without S3. `export` drains the leads as the real one does (so the lead
 * collector and the progress reporter run) and asks the fence before its first and last write;
 * the refs it returns come from `buildArchiveRef`. `fail` makes a method throw.
 */
export class FakeArchiveService {
  readonly calls: string[] = [];
  /** Runs once the leads were drained, before the lead histories are. */
  beforeHistory: (() => void) | null = null;
  /** Runs at each verify. */
  onVerify: (() => void) | null = null;
  /** What `findExisting` finds, per snapshot: an archive an earlier claim wrote before it died. */
  readonly existing = new Map<ArchiveSnapshot, ArchiveRef>();
  private readonly failures = new Map<Failing, Error>();

  fail(method: Failing, error: Error): this {
    this.failures.set(method, error);
    return this;
  }

  async findExisting(
    _target: ArchiveTarget,
    snapshot: ArchiveSnapshot = 'export',
  ): Promise<ArchiveRef | null> {
    this.calls.push(`findExisting ${snapshot}`);
    return this.existing.get(snapshot) ?? null;
  }

  async export(
    _target: ArchiveTarget,
    source: ExportSource,
    onLeads: (exported: number) => void,
    snapshot: ArchiveSnapshot = 'export',
    _since: ArchiveRef | null = null,
    fence: WriteFence = { check: () => Promise.resolve() },
  ): Promise<ArchiveRef> {
    this.calls.push(`export ${snapshot}`);
    this.throwIfFailing('export');
    await fence.check();
    let leads = 0;
    if (source.resumable) {
      const opened = source.resumable.open({ firstPage: 1, seeds: null, fingerprints: [] });
      for await (const page of opened.pages) onLeads((leads += page.leads.length));
    }
    for await (const _lead of source.leads ?? []) onLeads((leads += 1));
    if (source.leadHistory) {
      this.beforeHistory?.();
      for await (const _history of source.leadHistory);
    }
    await fence.check();
    return buildArchiveRef(
      { counts: { nodes: source.nodes.length, edges: source.edges.length, leads }, verifiedAt: null },
      snapshot,
    );
  }

  async verify(ref: ArchiveRef): Promise<ArchiveRef> {
    this.calls.push(`verify ${snapshotOf(ref)}`);
    this.onVerify?.();
    this.throwIfFailing('verify');
    return { ...ref, verifiedAt: new Date().toISOString() };
  }

  async readManifest(ref: ArchiveRef): Promise<Manifest> {
    this.calls.push(`readManifest ${snapshotOf(ref)}`);
    return {
      formatVersion: 1,
      teardownId: 'td',
      workflowId: 'wf',
      exportedAt: new Date().toISOString(),
      source: { baseUrl: 'https://api.dialnexa.test', apiVersion: 'v1' },
      objects: ref.objects,
      leadsTotalReported: ref.counts.leads,
      snapshot: snapshotOf(ref),
      changedSinceExport: [],
    };
  }

  asService(): ArchiveService {
    return this as unknown as ArchiveService;
  }

  private throwIfFailing(method: Failing): void {
    const failure = this.failures.get(method);
    if (failure) throw failure;
  }
}

function snapshotOf(ref: ArchiveRef): ArchiveSnapshot {
  return ref.manifestKey.includes('/final/') ? 'final' : 'export';
}
