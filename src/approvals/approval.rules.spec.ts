import { describe, expect, it } from '@jest/globals';
import type { Approval, ApprovalSubject, DecisionRequest } from './approval.js';
import { decide, expire, isOverdue } from './approval.rules.js';

const REQUESTED_AT = new Date('2030-01-01T00:00:00.000Z');
const TTL_HOURS = 168;
const TTL_MS = TTL_HOURS * 3_600_000;

function build(overrides: Partial<ApprovalSubject> = {}): ApprovalSubject {
  return {
    id: 'td_01JD0000000000000000000000',
    workflowId: 'wfl_m3v7zb9rk2px',
    status: 'awaiting_approval',
    step: 'export',
    dryRun: false,
    cancelSentAt: null,
    error: null,
    requestedBy: 'billing-team',
    approvalsRequired: 2,
    createdAt: REQUESTED_AT,
    ...overrides,
  };
}

function buildRequest(overrides: Partial<DecisionRequest> = {}): DecisionRequest {
  return {
    approver: 'approver-1',
    decision: 'approved',
    comment: 'checked PRIV-1042',
    at: new Date(REQUESTED_AT.getTime() + 3_600_000),
    ...overrides,
  };
}

function buildApproval(overrides: Partial<Approval> = {}): Approval {
  return {
    approver: 'approver-2',
    decision: 'approved',
    comment: null,
    decidedAt: new Date(REQUESTED_AT.getTime() + 60_000),
    ...overrides,
  };
}

describe('approval rules', () => {
  describe(isOverdue.name, () => {
    it('is not overdue exactly at APPROVAL_TTL_HOURS after the request, and is one millisecond later', () => {
      const sut = build();
      expect(isOverdue(sut, new Date(REQUESTED_AT.getTime() + TTL_MS), TTL_HOURS)).toBe(false);
      expect(isOverdue(sut, new Date(REQUESTED_AT.getTime() + TTL_MS + 1), TTL_HOURS)).toBe(true);
    });
  });

  describe(decide.name, () => {
    it('counts a first approval and keeps the teardown waiting for the second', () => {
      const sut = decide(build(), [], buildRequest(), TTL_HOURS);
      expect(sut).toEqual({
        kind: 'recorded',
        approval: { approver: 'approver-1', decision: 'approved', comment: 'checked PRIV-1042' },
        approvals: 1,
        status: 'awaiting_approval',
        event: {
          actor: 'approver-1',
          teardownId: 'td_01JD0000000000000000000000',
          workflowId: 'wfl_m3v7zb9rk2px',
          type: 'teardown.approved',
          details: {
            comment: 'checked PRIV-1042',
            approvals: 1,
            approvalsRequired: 2,
            status: 'awaiting_approval',
          },
        },
      });
    });

    it('queues the teardown with the approval that reaches APPROVALS_REQUIRED', () => {
      const sut = decide(build(), [buildApproval()], buildRequest(), TTL_HOURS);
      expect(sut).toMatchObject({ kind: 'recorded', approvals: 2, status: 'queued' });
    });

    it('queues at once when one approval is required', () => {
      const sut = decide(build({ approvalsRequired: 1 }), [], buildRequest(), TTL_HOURS);
      expect(sut).toMatchObject({ approvals: 1, status: 'queued' });
    });

    it('ends the teardown with one rejection, whatever approvals came before', () => {
      const sut = decide(
        build(),
        [buildApproval()],
        buildRequest({ decision: 'rejected', comment: 'wrong workflow' }),
        TTL_HOURS,
      );
      expect(sut).toMatchObject({
        kind: 'recorded',
        approval: { decision: 'rejected', comment: 'wrong workflow' },
        approvals: 1,
        status: 'rejected',
        event: { actor: 'approver-1', type: 'teardown.rejected', details: { status: 'rejected' } },
      });
    });

    it('refuses the requester with APPROVAL_NOT_ALLOWED, also when it has the approver or admin role', () => {
      // roles are not the rules' input: the requester is refused by name, whatever it may do elsewhere
      for (const decision of ['approved', 'rejected'] as const) {
        expect(() =>
          decide(
            build({ requestedBy: 'ops-admin' }),
            [],
            buildRequest({ approver: 'ops-admin', decision }),
            TTL_HOURS,
          ),
        ).toThrow(expect.objectContaining({ code: 'APPROVAL_NOT_ALLOWED' }));
      }
    });

    it('refuses a second decision by the same caller with APPROVAL_ALREADY_RECORDED, naming the first', () => {
      const previous = [buildApproval({ approver: 'approver-1', decision: 'approved' })];
      for (const decision of ['approved', 'rejected'] as const) {
        expect(() => decide(build(), previous, buildRequest({ decision }), TTL_HOURS)).toThrow(
          expect.objectContaining({ code: 'APPROVAL_ALREADY_RECORDED', details: { decision: 'approved' } }),
        );
      }
    });

    it('does not count an earlier rejection as an approval', () => {
      const sut = decide(
        build({ approvalsRequired: 1 }),
        [buildApproval({ decision: 'rejected' })],
        buildRequest(),
        TTL_HOURS,
      );
      expect(sut).toMatchObject({ approvals: 1 });
    });

    it.each(['queued', 'exporting', 'completed', 'failed', 'rejected', 'aborted'] as const)(
      'refuses a decision on a teardown that is %s with TEARDOWN_NOT_AWAITING_APPROVAL',
      (status) => {
        expect(() => decide(build({ status }), [], buildRequest(), TTL_HOURS)).toThrow(
          expect.objectContaining({
            code: 'TEARDOWN_NOT_AWAITING_APPROVAL',
            details: expect.objectContaining({ status }),
          }),
        );
      },
    );

    it('answers TEARDOWN_NOT_AWAITING_APPROVAL, not APPROVAL_ALREADY_RECORDED, to a caller who decided before the teardown ended', () => {
      const previous = [buildApproval({ approver: 'approver-1', decision: 'rejected' })];
      expect(() => decide(build({ status: 'rejected' }), previous, buildRequest(), TTL_HOURS)).toThrow(
        expect.objectContaining({ code: 'TEARDOWN_NOT_AWAITING_APPROVAL' }),
      );
    });

    it('takes a decision made exactly at the TTL', () => {
      const sut = decide(
        build(),
        [],
        buildRequest({ at: new Date(REQUESTED_AT.getTime() + TTL_MS) }),
        TTL_HOURS,
      );
      expect(sut.kind).toBe('recorded');
    });

    it('expires, as the system, a teardown decided on after the TTL, and records no decision', () => {
      const late = buildRequest({ at: new Date(REQUESTED_AT.getTime() + TTL_MS + 1) });
      const sut = decide(build(), [buildApproval()], late, TTL_HOURS);
      expect(sut).toEqual({
        kind: 'expired',
        status: 'rejected',
        event: {
          actor: 'system',
          teardownId: 'td_01JD0000000000000000000000',
          workflowId: 'wfl_m3v7zb9rk2px',
          type: 'teardown.rejected',
          details: { comment: 'no approval within 168 hours', expired: true },
        },
      });
      expect(sut).not.toHaveProperty('approval');
    });

    it('expires the teardown even when its requester is the late caller', () => {
      const late = buildRequest({
        approver: 'billing-team',
        at: new Date(REQUESTED_AT.getTime() + TTL_MS + 1),
      });
      expect(decide(build(), [], late, TTL_HOURS).kind).toBe('expired');
    });
  });

  describe(expire.name, () => {
    it('rejects, as the system, a teardown still awaiting approval after the TTL', () => {
      const sut = expire(build(), new Date(REQUESTED_AT.getTime() + TTL_MS + 1), TTL_HOURS);
      expect(sut).toMatchObject({ kind: 'expired', status: 'rejected', event: { actor: 'system' } });
    });

    it('leaves a teardown that is exactly at the TTL', () => {
      expect(expire(build(), new Date(REQUESTED_AT.getTime() + TTL_MS), TTL_HOURS)).toBeNull();
    });

    it('leaves a teardown that was decided meanwhile, however old', () => {
      const muchLater = new Date(REQUESTED_AT.getTime() + 10 * TTL_MS);
      for (const status of ['queued', 'rejected', 'completed'] as const) {
        expect(expire(build({ status }), muchLater, TTL_HOURS)).toBeNull();
      }
    });
  });
});
