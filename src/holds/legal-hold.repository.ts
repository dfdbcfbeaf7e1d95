import { Injectable } from '@nestjs/common';
import { appendInTransaction } from '../audit/audit.repository.js';
import { DomainError } from '../common/domain-error.js';
import { ulid } from '../common/ids.js';
import { prismaOf } from '../db/prisma-unit-of-work.js';
import { type Prisma, PrismaService } from '../db/prisma.service.js';
import type { Transaction } from '../db/unit-of-work.js';
import type { HeldTeardown, LegalHold } from './legal-hold.js';

type Tx = Prisma.TransactionClient;

@Injectable()
export class LegalHoldRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Serialises, per workflow, the decisions that a hold must win or lose cleanly: placing a hold,
   * creating or retrying a teardown, and recording that a cancel or DELETE is about to be sent.
   * Held until `tx` ends. The teardown repository takes it inside its own units of work.
   */
  async lockWorkflow(tx: Transaction, workflowId: string): Promise<void> {
    await lockWorkflow(prismaOf(tx), workflowId);
  }

  /** The id of a hold in force on the workflow, if any. Ask under `lockWorkflow`, in the same `tx`. */
  async activeHoldId(tx: Transaction, workflowId: string): Promise<string | null> {
    const hold = await prismaOf(tx).legalHold.findFirst({
      where: { workflowId, liftedAt: null },
      select: { id: true },
    });
    return hold?.id ?? null;
  }

  async place(
    workflowId: string,
    reason: string,
    actor: string,
  ): Promise<{ hold: LegalHold; teardowns: HeldTeardown[] }> {
    return this.prisma.$transaction(async (tx) => {
      await lockWorkflow(tx, workflowId);
      const row = await tx.legalHold.create({
        data: { id: `hold_${ulid()}`, workflowId, reason, placedBy: actor },
      });
      // every teardown not completed, failed ones included: a retry would otherwise resume it
      const unfinished = await tx.teardown.findMany({
        where: { workflowId, status: { not: 'completed' } },
        select: { id: true, status: true, cancelSentAt: true, deleteAttempts: true },
        orderBy: { id: 'asc' },
      });
      const teardowns = unfinished.map((t) => ({
        id: t.id,
        status: t.status,
        cancelSent: t.cancelSentAt !== null,
        deleteSent: t.deleteAttempts > 0,
      }));
      await appendInTransaction(tx, [
        {
          actor,
          teardownId: null,
          workflowId,
          type: 'hold.placed',
          details: { holdId: row.id, reason, unfinishedTeardowns: teardowns },
        },
      ]);
      return { hold: toDomain(row), teardowns };
    });
  }

  async lift(id: string, actor: string): Promise<LegalHold> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM legal_hold WHERE id = ${id} FOR UPDATE`;
      const row = await tx.legalHold.findUnique({ where: { id } });
      if (!row) throw new DomainError('HOLD_NOT_FOUND', `hold ${id} does not exist`);
      if (row.liftedAt) {
        throw new DomainError(
          'HOLD_ALREADY_LIFTED',
          `hold ${id} was lifted by ${row.liftedBy ?? 'someone'}`,
          {
            details: { liftedAt: row.liftedAt.toISOString() },
          },
        );
      }
      const lifted = await tx.legalHold.update({
        where: { id },
        data: { liftedBy: actor, liftedAt: new Date() },
      });
      await appendInTransaction(tx, [
        { actor, teardownId: null, workflowId: row.workflowId, type: 'hold.lifted', details: { holdId: id } },
      ]);
      return toDomain(lifted);
    });
  }

  /** Newest first; the cursor is the last id of the previous page (ids sort by creation time). */
  async list(
    filter: { workflowId?: string; active?: boolean },
    limit: number,
    beforeId?: string,
  ): Promise<LegalHold[]> {
    const rows = await this.prisma.legalHold.findMany({
      where: {
        workflowId: filter.workflowId,
        liftedAt: filter.active === undefined ? undefined : filter.active ? null : { not: null },
        id: beforeId ? { lt: beforeId } : undefined,
      },
      orderBy: { id: 'desc' },
      take: limit,
    });
    return rows.map(toDomain);
  }
}

async function lockWorkflow(tx: Tx, workflowId: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`wf:${workflowId}`}, 0))) AS l`;
}

function toDomain(row: {
  id: string;
  workflowId: string;
  reason: string;
  placedBy: string;
  placedAt: Date;
  liftedBy: string | null;
  liftedAt: Date | null;
}): LegalHold {
  return { ...row };
}
