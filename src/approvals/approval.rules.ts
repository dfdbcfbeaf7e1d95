import { type NewAuditEvent, SYSTEM_ACTOR } from '../audit/audit-event.js';
import { DomainError } from '../common/domain-error.js';
import type { TeardownStatus } from '../teardown/teardown.js';
import { stateOf, transition } from '../teardown/teardown-state.js';
import type { Approval, ApprovalSubject, DecisionRequest, NewApproval } from './approval.js';

/**
 * The four-eyes rules, over plain data: no I/O, no clock of their own. The caller reads the
 * teardown and its earlier decisions under the teardown's row lock, asks here what happens, and
 * stores the answer in the same transaction. The teardown's next status always comes from
 * `transition()`, the one state machine.
 */

/** A decision taken: the approval to record, the teardown's status after it, its audit event. */
export interface Recorded {
  kind: 'recorded';
  approval: NewApproval;
  /** Approvals counted after this decision, this one included. */
  approvals: number;
  status: TeardownStatus;
  event: NewAuditEvent;
}

/** The teardown waited too long: it is rejected by the system and no decision is recorded. */
export interface Expired {
  kind: 'expired';
  status: TeardownStatus;
  event: NewAuditEvent;
}

const HOUR_MS = 3_600_000;

/** A teardown requested before this instant is overdue at `now`; one requested at it, not yet. */
export function overdueBefore(now: Date, ttlHours: number): Date {
  return new Date(now.getTime() - ttlHours * HOUR_MS);
}

export function isOverdue(subject: Pick<ApprovalSubject, 'createdAt'>, now: Date, ttlHours: number): boolean {
  return subject.createdAt.getTime() < overdueBefore(now, ttlHours).getTime();
}

/**
 * A caller's approval or rejection. Refuses, with the error the caller gets:
 * - the teardown's own requester, whatever its roles (APPROVAL_NOT_ALLOWED);
 * - a second decision by the same caller (APPROVAL_ALREADY_RECORDED);
 * - a teardown that is not awaiting approval (TEARDOWN_NOT_AWAITING_APPROVAL, from transition()).
 * Enough approvals queue the teardown; one rejection ends it.
 */
export function decide(
  subject: ApprovalSubject,
  previous: readonly Approval[],
  request: DecisionRequest,
  ttlHours: number,
): Recorded | Expired {
  // Judged first and at decision time, not only by the sweeper, which may run late or on no
  // replica at all: an approval must never count after the window closed.
  const expired = expire(subject, request.at, ttlHours);
  if (expired) return expired;
  if (subject.requestedBy === request.approver) {
    throw new DomainError('APPROVAL_NOT_ALLOWED', 'the requester of a teardown may not approve or reject it');
  }
  const own = previous.find((approval) => approval.approver === request.approver);
  if (own && subject.status === 'awaiting_approval') {
    throw new DomainError(
      'APPROVAL_ALREADY_RECORDED',
      `${request.approver} already ${own.decision} this teardown`,
      {
        details: { decision: own.decision },
      },
    );
  }
  const approvals =
    previous.filter((approval) => approval.decision === 'approved').length +
    (request.decision === 'approved' ? 1 : 0);
  const next = transition(
    stateOf(subject),
    request.decision === 'approved'
      ? { type: 'approved', approvals, required: subject.approvalsRequired }
      : { type: 'rejected' },
  );
  return {
    kind: 'recorded',
    approval: { approver: request.approver, decision: request.decision, comment: request.comment },
    approvals,
    status: next.status,
    event: {
      actor: request.approver,
      teardownId: subject.id,
      workflowId: subject.workflowId,
      type: request.decision === 'approved' ? 'teardown.approved' : 'teardown.rejected',
      details: {
        comment: request.comment,
        approvals,
        approvalsRequired: subject.approvalsRequired,
        status: next.status,
      },
    },
  };
}

/**
 * The expiry of a teardown still awaiting approval after `ttlHours`, as the system; null when it
 * is not due (or no longer waits: decided meanwhile). Used at decision time and by the sweeper.
 */
export function expire(subject: ApprovalSubject, now: Date, ttlHours: number): Expired | null {
  if (subject.status !== 'awaiting_approval' || !isOverdue(subject, now, ttlHours)) return null;
  const next = transition(stateOf(subject), { type: 'rejected' });
  return {
    kind: 'expired',
    status: next.status,
    event: {
      actor: SYSTEM_ACTOR,
      teardownId: subject.id,
      workflowId: subject.workflowId,
      type: 'teardown.rejected',
      details: { comment: `no approval within ${ttlHours} hours`, expired: true },
    },
  };
}
