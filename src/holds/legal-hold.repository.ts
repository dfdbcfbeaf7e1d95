import { Injectable } from '@nestjs/common';
import { ulid } from '../common/ids.js';
import { prismaOf } from '../db/prisma-unit-of-work.js';
import { PrismaService } from '../db/prisma.service.js';
import type { Transaction } from '../db/unit-of-work.js';
import type { LegalHold } from './legal-hold.js';

/**
 * The legal_hold table, and the per-workflow lock a hold is decided under. Its methods that take a
 * `Transaction` run inside a unit of work, the hold's own (LegalHoldService) or the teardown
 * repository's, so other modules take part without a Prisma client.
 */
@Injectable()
export class LegalHoldRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Serialises, per workflow, the decisions that a hold must win or lose cleanly: placing a hold,
   * creating or retrying a teardown, and recording that a cancel or DELETE is about to be sent.
   * Held until `tx` ends.
   */
  async lockWorkflow(tx: Transaction, workflowId: string): Promise<void> {
    const db = prismaOf(tx);
    await db.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`wf:${workflowId}`}, 0))) AS l`;
  }

  /** The id of a hold in force on the workflow, if any. Ask under `lockWorkflow`, in the same `tx`. */
  async activeHoldId(tx: Transaction, workflowId: string): Promise<string | null> {
    const hold = await prismaOf(tx).legalHold.findFirst({
      where: { workflowId, liftedAt: null },
      select: { id: true },
    });
    return hold?.id ?? null;
  }

  async insert(
    tx: Transaction,
    hold: { workflowId: string; reason: string; placedBy: string },
  ): Promise<LegalHold> {
    return toDomain(await prismaOf(tx).legalHold.create({ data: { id: `hold_${ulid()}`, ...hold } }));
  }

  /** The hold, its row locked until `tx` ends (lifts of one hold happen one after another). */
  async lockById(tx: Transaction, id: string): Promise<LegalHold | null> {
    const db = prismaOf(tx);
    await db.$queryRaw`SELECT id FROM legal_hold WHERE id = ${id} FOR UPDATE`;
    const row = await db.legalHold.findUnique({ where: { id } });
    return row ? toDomain(row) : null;
  }

  async markLifted(tx: Transaction, id: string, liftedBy: string): Promise<LegalHold> {
    return toDomain(
      await prismaOf(tx).legalHold.update({ where: { id }, data: { liftedBy, liftedAt: new Date() } }),
    );
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
