import type { Transaction } from '../db/unit-of-work.js';
import type { HoldResource } from './legal-hold.dto.js';

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

/**
 * The teardown side of placing a hold: a port this module declares and the teardown module
 * implements (TeardownRepository), because holds may not import the teardown module, which
 * imports it. Called inside the hold's unit of work, under the workflow's lock: no teardown of the
 * workflow is created, retried or let through the destructive-call gate between the hold and the
 * list.
 */
export interface HeldTeardowns {
  /**
   * Every teardown of the workflow that is not completed, failed ones included (a retry would
   * otherwise resume it), oldest first.
   */
  notCompletedOf(tx: Transaction, workflowId: string): Promise<HeldTeardown[]>;
}

export const HELD_TEARDOWNS = Symbol('HeldTeardowns');

export function presentHold(hold: LegalHold): HoldResource {
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
