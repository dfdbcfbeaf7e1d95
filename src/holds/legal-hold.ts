export interface LegalHold {
  id: string;
  workflowId: string;
  reason: string;
  placedBy: string;
  placedAt: Date;
  liftedBy: string | null;
  liftedAt: Date | null;
}

/** A teardown of the held workflow that was unfinished when the hold was placed. */
export interface HeldTeardown {
  id: string;
  status: string;
  /** True when its cancel had already been sent: the hold came too late to stop it. */
  cancelSent: boolean;
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
