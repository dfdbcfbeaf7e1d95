export const AUDIT_EVENT_TYPES = [
  'teardown.requested',
  'teardown.approved',
  'teardown.rejected',
  'archive.exported',
  'workflow.cancelled',
  'archive.finalized',
  'workflow.deleted',
  'teardown.completed',
  'teardown.failed',
  'teardown.retried',
  'teardown.aborted',
  'hold.placed',
  'hold.lifted',
  'restore.requested',
  'restore.completed',
  'restore.failed',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** The actor of every step the service performs on its own. */
export const SYSTEM_ACTOR = 'system';

export interface NewAuditEvent {
  actor: string;
  teardownId: string | null;
  workflowId: string | null;
  type: AuditEventType;
  details: Record<string, unknown>;
}

export interface AuditEvent extends NewAuditEvent {
  id: string;
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}
