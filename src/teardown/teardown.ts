import type { ErrorCode } from '../common/domain-error.js';
import type { ArchiveRef } from '../archive/manifest.js';

export const TEARDOWN_STATUSES = [
  'awaiting_approval',
  'queued',
  'exporting',
  'cancelling',
  'deleting',
  'completed',
  'failed',
  'rejected',
  'aborted',
] as const;
export type TeardownStatus = (typeof TEARDOWN_STATUSES)[number];

/** The contract's step names, in the order a teardown runs them. */
export const TEARDOWN_STEPS = ['export', 'verify', 'audit', 'cancel', 'finalize', 'delete'] as const;
export type TeardownStep = (typeof TEARDOWN_STEPS)[number];

/** Statuses in which a runner works on the teardown (and a lease may be held). */
export const RUNNING_STATUSES = [
  'queued',
  'exporting',
  'cancelling',
  'deleting',
] as const satisfies readonly TeardownStatus[];
/** A workflow has at most one teardown in these statuses (a partial unique index enforces it). */
export const ACTIVE_STATUSES = [
  'awaiting_approval',
  ...RUNNING_STATUSES,
] as const satisfies readonly TeardownStatus[];
export const TERMINAL_STATUSES = [
  'completed',
  'failed',
  'rejected',
  'aborted',
] as const satisfies readonly TeardownStatus[];

export interface TeardownError {
  code: ErrorCode;
  message: string;
  step: TeardownStep;
  retryable: boolean;
}

export interface Teardown {
  id: string;
  workflowId: string;
  status: TeardownStatus;
  step: TeardownStep;
  dryRun: boolean;
  includeLeadHistory: boolean;
  reason: string;
  ticket: string | null;
  requestedBy: string;
  approvalsRequired: number;
  attempt: number;
  fencingToken: bigint;
  /** Claims since a step last finished (see TEARDOWN_CRASH_LOOP). */
  claimsSinceProgress: number;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  leadsExported: number;
  leadsTotal: number | null;
  /** Requests sent to DialNexa for this teardown, every attempt counted. */
  upstreamRequests: number;
  estimate: ProgressEstimate | null;
  cancelSentAt: Date | null;
  cancelledAt: Date | null;
  deletePending: boolean;
  deleteAttempts: number;
  deleteWaitStartedAt: Date | null;
  deletedAt: Date | null;
  archive: ArchiveRef | null;
  error: TeardownError | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

/** What is left of a teardown's work upstream, as estimated when its progress was last written. */
export interface ProgressEstimate {
  /** Requests still expected (about ⌈N/100⌉ per listing of N leads, one per lead history). */
  requestsLeft: number | null;
  /** The time they take at the current rate; null while no rate is known. */
  secondsLeft: number | null;
  at: Date;
}

export interface NewTeardown {
  workflowId: string;
  reason: string;
  ticket: string | null;
  dryRun: boolean;
  includeLeadHistory: boolean;
  requestedBy: string;
  approvalsRequired: number;
}

export function isTerminal(status: TeardownStatus): boolean {
  return (TERMINAL_STATUSES as readonly TeardownStatus[]).includes(status);
}

export function isRunning(status: TeardownStatus): boolean {
  return (RUNNING_STATUSES as readonly TeardownStatus[]).includes(status);
}
