import { Inject, Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { DomainError } from '../common/domain-error.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import { HELD_TEARDOWNS, type HeldTeardown, type HeldTeardowns, type LegalHold } from './legal-hold.js';
import { LegalHoldRepository } from './legal-hold.repository.js';

/**
 * Placing, lifting and listing legal holds. Placing one spans three modules' tables: the hold
 * (LegalHoldRepository), the workflow's teardowns it stops (the HeldTeardowns port, implemented by
 * the teardown module) and the audit event (AuditRepository), in one UnitOfWork.
 */
@Injectable()
export class LegalHoldService {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly holds: LegalHoldRepository,
    @Inject(HELD_TEARDOWNS) private readonly teardowns: HeldTeardowns,
    private readonly audit: AuditRepository,
  ) {}

  /**
   * The hold, with the workflow's teardowns that are not completed. They are listed under the
   * workflow's lock, after the hold is written: every teardown not listed is created, retried or
   * gated after the hold, and so stopped by it.
   */
  async place(
    workflowId: string,
    reason: string,
    actor: string,
  ): Promise<{ hold: LegalHold; teardowns: HeldTeardown[] }> {
    return this.unitOfWork.run(async (tx) => {
      await this.holds.lockWorkflow(tx, workflowId);
      const hold = await this.holds.insert(tx, { workflowId, reason, placedBy: actor });
      const teardowns = await this.teardowns.notCompletedOf(tx, workflowId);
      await this.audit.appendWithin(tx, [
        {
          actor,
          teardownId: null,
          workflowId,
          type: 'hold.placed',
          details: { holdId: hold.id, reason, unfinishedTeardowns: teardowns },
        },
      ]);
      return { hold, teardowns };
    });
  }

  async lift(id: string, actor: string): Promise<LegalHold> {
    return this.unitOfWork.run(async (tx) => {
      const hold = await this.holds.lockById(tx, id);
      if (!hold) throw new DomainError('HOLD_NOT_FOUND', `hold ${id} does not exist`);
      if (hold.liftedAt) {
        throw new DomainError(
          'HOLD_ALREADY_LIFTED',
          `hold ${id} was lifted by ${hold.liftedBy ?? 'someone'}`,
          {
            details: { liftedAt: hold.liftedAt.toISOString() },
          },
        );
      }
      const lifted = await this.holds.markLifted(tx, id, actor);
      await this.audit.appendWithin(tx, [
        {
          actor,
          teardownId: null,
          workflowId: hold.workflowId,
          type: 'hold.lifted',
          details: { holdId: id },
        },
      ]);
      return lifted;
    });
  }

  /** Newest first; the cursor is the last id of the previous page (ids sort by creation time). */
  async list(
    filter: { workflowId?: string; active?: boolean },
    limit: number,
    beforeId?: string,
  ): Promise<LegalHold[]> {
    return this.holds.list(filter, limit, beforeId);
  }
}
