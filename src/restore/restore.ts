import type { ArchiveRef, ArchiveSnapshot } from '../archive/manifest.js';
import type { ErrorCode } from '../common/domain-error.js';

export const RESTORE_STATUSES = ['queued', 'verifying', 'creating', 'completed', 'failed'] as const;
export type RestoreStatus = (typeof RESTORE_STATUSES)[number];

/** Statuses in which a runner works on the restore (and a lease may be held). */
export const RUNNING_RESTORE_STATUSES = [
  'queued',
  'verifying',
  'creating',
] as const satisfies readonly RestoreStatus[];

export function isRestoreRunning(status: RestoreStatus): boolean {
  return (RUNNING_RESTORE_STATUSES as readonly RestoreStatus[]).includes(status);
}

/** What a restore creates upstream, one row of the intent log each (leads: one per CSV file). */
export const RESTORE_ITEM_KINDS = ['workflow', 'node', 'edge', 'leads'] as const;
export type RestoreItemKind = (typeof RESTORE_ITEM_KINDS)[number];

/**
 * One object the restore creates upstream. Written (`newId` null) before the request is sent and
 * completed with the answer; an intent still open after a crash or a lost answer is looked up
 * upstream before anything is sent again.
 */
export interface RestoreItem {
  kind: RestoreItemKind;
  /** The archived order; for leads, the number of the CSV file. */
  seq: number;
  /** The archived id (for a leads file, `leads-file-<n>`). */
  oldId: string;
  newId: string | null;
  /** When the intent was written: the request went out after it. */
  intendedAt: Date;
  /** For a leads file once uploaded: each archived lead id mapped to its new lead id. */
  leads: Record<string, string> | null;
}

export interface RestoreError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** For a restore that cannot finish: what exists upstream, and how to recognise it. */
  details: Record<string, unknown>;
}

/** What verifying found in the archive, fixed before anything is created. */
export interface RestorePlan {
  /** The snapshot's manifest key and SHA-256, as verified. */
  manifestKey: string;
  manifestSha256: string;
  workflow: { title: string; description: string | null };
  nodes: number;
  edges: number;
  /** Leads that go up (archived leads minus excluded and unencodable ones). */
  leads: number;
  leadFiles: number;
  excludedLeads: { total: number; byStatus: Record<string, number> };
  unencodableLeads: { count: number; leadIds: string[] };
  /** Leads that go up with metadata not exactly as archived (see leads-csv.ts), by reason. */
  alteredLeads?: { count: number; byReason: Record<string, number> };
  /** Requests the creation costs (one per object, one per leads file) and their time now. */
  requests: number;
  secondsAtCurrentRate: number | null;
}

export interface Restore {
  id: string;
  teardownId: string;
  sourceWorkflowId: string;
  snapshot: ArchiveSnapshot;
  reason: string;
  dryRun: boolean;
  excludeLeadStatuses: string[];
  requestedBy: string;
  status: RestoreStatus;
  fencingToken: bigint;
  claimsSinceProgress: number;
  plan: RestorePlan | null;
  newWorkflowId: string | null;
  idMapKey: string | null;
  upstreamRequests: number;
  error: RestoreError | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

export interface NewRestore {
  teardownId: string;
  sourceWorkflowId: string;
  snapshot: ArchiveSnapshot;
  reason: string;
  dryRun: boolean;
  excludeLeadStatuses: string[];
  requestedBy: string;
}

/**
 * The teardown a restore reads its archive from, as the restore module sees it. The teardown
 * module's repository implements the port (RestorableTeardowns): this module never imports it.
 */
export interface RestoreSource {
  id: string;
  workflowId: string;
  status: string;
  dryRun: boolean;
  archive: ArchiveRef | null;
}

export interface RestorableTeardowns {
  findById(id: string): Promise<RestoreSource | null>;
}

export const RESTORABLE_TEARDOWNS = Symbol('RESTORABLE_TEARDOWNS');

/** The id map of the contract: `{workflow, nodes, edges, leads}`, each old id → new id. */
export interface IdMap {
  workflow: Record<string, string>;
  nodes: Record<string, string>;
  edges: Record<string, string>;
  leads: Record<string, string>;
}

/** The id map the items recorded so far make. */
export function idMapOf(sourceWorkflowId: string, items: readonly RestoreItem[]): IdMap {
  const map: IdMap = { workflow: {}, nodes: {}, edges: {}, leads: {} };
  for (const item of items) {
    if (item.kind === 'workflow' && item.newId) map.workflow[sourceWorkflowId] = item.newId;
    if (item.kind === 'node' && item.newId) map.nodes[item.oldId] = item.newId;
    if (item.kind === 'edge' && item.newId) map.edges[item.oldId] = item.newId;
    if (item.kind === 'leads' && item.leads) Object.assign(map.leads, item.leads);
  }
  return map;
}
