import type { ArchiveRef } from '../archive/manifest.js';
import type { AuditAnchor } from '../audit/audit-anchor.js';
import type { AuditEvent } from '../audit/audit-event.js';

/**
 * The signed statement of one completed deletion (service contract, "Deletion receipts"). Every
 * field is fixed once the teardown completed and its events are anchored, so the same teardown
 * always yields the same receipt: a retried or concurrent issue writes the same bytes (the
 * signature is deterministic too: Ed25519 over the same bytes with the same key).
 */
export const RECEIPT_FORMAT_VERSION = 1;
export const RECEIPT_KIND = 'dialnexa-teardown.deletion-receipt';

/** What a receipt needs of a teardown (the teardown module's Teardown satisfies it). */
export interface ReceiptSubject {
  id: string;
  workflowId: string;
  status: string;
  dryRun: boolean;
  reason: string;
  ticket: string | null;
  requestedBy: string;
  createdAt: Date;
  cancelledAt: Date | null;
  deletedAt: Date | null;
  archive: ArchiveRef | null;
}

export interface ReceiptManifest {
  bucket: string;
  manifestKey: string;
  manifestSha256: string;
  manifestVersionId: string | null;
  counts: { nodes: number; edges: number; leads: number };
}

export interface ReceiptEvent {
  seq: number;
  id: string;
  at: string;
  actor: string;
  type: string;
  hash: string;
}

export interface DeletionReceipt {
  formatVersion: typeof RECEIPT_FORMAT_VERSION;
  kind: typeof RECEIPT_KIND;
  teardownId: string;
  workflowId: string;
  requestedBy: string;
  requestedAt: string;
  reason: string;
  ticket: string | null;
  approvals: { by: string; at: string; comment: string | null }[];
  exportedAt: string;
  cancelledAt: string;
  /** Null when nothing changed after the export, so no final snapshot was written. */
  finalizedAt: string | null;
  deletedAt: string;
  /** How the delete was confirmed (`deleted`, or a 404 after an unanswered DELETE of ours). */
  deleteConfirmation: string | null;
  archive: ReceiptManifest;
  final: ReceiptManifest | null;
  /** Every audit event of the teardown, oldest first, up to `teardown.completed`. */
  events: ReceiptEvent[];
  /**
   * The chain head locked in the bucket by the first anchor written after `teardown.completed`:
   * that anchor covers `workflow.deleted` and every event listed above.
   */
  chain: { headSeq: number; headHash: string; anchorKey: string };
}

/** The events a receipt lists: the teardown's, up to and including `teardown.completed`. */
export function receiptEvents(events: readonly AuditEvent[]): AuditEvent[] {
  const end = events.findIndex((e) => e.type === 'teardown.completed');
  return end < 0 ? [] : events.slice(0, end + 1);
}

/**
 * Builds the receipt of a completed, non-dry-run teardown from its row, its audit events (from
 * `receiptEvents`) and the anchor covering the last of them. Throws when they do not describe a
 * completed deletion: that is a bug in the caller, not a state a receipt may describe.
 */
export function buildReceipt(
  teardown: ReceiptSubject,
  events: readonly AuditEvent[],
  anchor: AuditAnchor,
): DeletionReceipt {
  const archive = teardown.archive;
  const find = (type: string) => events.find((e) => e.type === type);
  const exported = find('archive.exported');
  const deleted = find('workflow.deleted');
  const last = events[events.length - 1];
  if (teardown.status !== 'completed' || teardown.dryRun || !archive || !exported || !deleted || !last) {
    throw new Error(`teardown ${teardown.id} is not a completed deletion with its events`);
  }
  if (last.type !== 'teardown.completed' || anchor.seq < last.seq) {
    throw new Error(`anchor ${anchor.key} does not cover the events of teardown ${teardown.id}`);
  }
  const cancelled = find('workflow.cancelled');
  const confirmation = deleted.details['confirmation'];
  return {
    formatVersion: RECEIPT_FORMAT_VERSION,
    kind: RECEIPT_KIND,
    teardownId: teardown.id,
    workflowId: teardown.workflowId,
    requestedBy: teardown.requestedBy,
    requestedAt: teardown.createdAt.toISOString(),
    reason: teardown.reason,
    ticket: teardown.ticket,
    approvals: events
      .filter((e) => e.type === 'teardown.approved')
      .map((e) => ({
        by: e.actor,
        at: e.at,
        comment: typeof e.details['comment'] === 'string' ? e.details['comment'] : null,
      })),
    exportedAt: exported.at,
    cancelledAt: teardown.cancelledAt?.toISOString() ?? cancelled?.at ?? deleted.at,
    finalizedAt: find('archive.finalized')?.at ?? null,
    deletedAt: teardown.deletedAt?.toISOString() ?? deleted.at,
    deleteConfirmation: typeof confirmation === 'string' ? confirmation : null,
    archive: manifestOf(archive),
    final: archive.final ? manifestOf(archive.final) : null,
    events: events.map((e) => ({
      seq: e.seq,
      id: e.id,
      at: e.at,
      actor: e.actor,
      type: e.type,
      hash: e.hash,
    })),
    chain: { headSeq: anchor.seq, headHash: anchor.hash, anchorKey: anchor.key },
  };
}

function manifestOf(ref: ArchiveRef): ReceiptManifest {
  return {
    bucket: ref.bucket,
    manifestKey: ref.manifestKey,
    manifestSha256: ref.manifestSha256,
    manifestVersionId: ref.manifestVersionId,
    counts: ref.counts,
  };
}
