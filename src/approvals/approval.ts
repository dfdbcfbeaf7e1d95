import type { Transaction } from '../db/unit-of-work.js';
import type { Teardown, TeardownStatus } from '../teardown/teardown.js';

export type Decision = 'approved' | 'rejected';

/** One approver's decision on a teardown (the teardown resource lists them as `approvals`). */
export interface Approval {
  approver: string;
  decision: Decision;
  comment: string | null;
  decidedAt: Date;
}

export type NewApproval = Omit<Approval, 'decidedAt'>;

/** A decision as a caller asks for it. `at` is when it was asked: expiry is judged against it. */
export interface DecisionRequest {
  approver: string;
  decision: Decision;
  comment: string | null;
  at: Date;
}

/** What the approval rules read of the teardown being decided on. */
export type ApprovalSubject = Pick<
  Teardown,
  | 'id'
  | 'workflowId'
  | 'status'
  | 'step'
  | 'dryRun'
  | 'cancelSentAt'
  | 'error'
  | 'requestedBy'
  | 'approvalsRequired'
  | 'createdAt'
>;

/**
 * The teardown side of a decision: a port this module declares and the teardown module implements
 * (TeardownRepository), because approvals may not import the teardown module, which imports it.
 * The methods that take a `Transaction` run inside the decision's unit of work, so the approval
 * row, the teardown's status and the audit event commit together.
 */
export interface ApprovalSubjects {
  /**
   * Locks the teardown's row until `tx` ends, so decisions on one teardown (and the runner's and
   * the API's other changes to it) happen one after another. Null when no such teardown exists.
   */
  lockForDecision(tx: Transaction, teardownId: string): Promise<ApprovalSubject | null>;
  /** Stores the status that `transition()` gave for the decision; the teardown as it now is. */
  applyDecision(tx: Transaction, teardownId: string, status: TeardownStatus): Promise<Teardown>;
  /** Ids of teardowns still awaiting approval that were requested before `before`, oldest first. */
  awaitingApprovalRequestedBefore(before: Date, limit: number): Promise<string[]>;
}

export const APPROVAL_SUBJECTS = Symbol('ApprovalSubjects');
