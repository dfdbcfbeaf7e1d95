export interface LegalHold {
  id: string;
  workflowId: string;
  reason: string;
  placedBy: string;
  placedAt: Date;
  liftedBy: string | null;
  liftedAt: Date | null;
}

/**
 * A teardown of the held workflow that was not completed when the hold was placed: running,
 * awaiting approval, failed (it could be retried) or aborted.
 */
export interface HeldTeardown {
  id: string;
  status: string;
  /** True when its cancel may have reached DialNexa: the workflow is cancelled upstream already. */
  cancelSent: boolean;
  /** True when a DELETE of it may have reached DialNexa: the hold may have come too late. */
  deleteSent: boolean;
}

export function presentHold(hold: LegalHold) {
  return {
    id: hold.id,
    workflowId: hold.workflowId,
    reason: hold.reason,
    placedBy: hold.placedBy,
    placedAt: hold.placedAt.toISOString(),
    liftedBy: hold.liftedBy,
    liftedAt: hold.liftedAt?.toISOString() ?? null,
  };
}
