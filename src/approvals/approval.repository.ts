import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { prismaOf } from '../db/prisma-unit-of-work.js';
import { PrismaService } from '../db/prisma.service.js';
import type { Transaction } from '../db/unit-of-work.js';
import type { Approval, Decision, NewApproval } from './approval.js';

interface ApprovalRow {
  approver: string;
  decision: string;
  comment: string | null;
  decidedAt: Date;
}

/** The approval table: one row per decision, at most one per approver and teardown. */
@Injectable()
export class ApprovalRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The teardown's decisions so far, read inside the decision's transaction. */
  async decisionsOn(tx: Transaction, teardownId: string): Promise<Approval[]> {
    const rows = await prismaOf(tx).approval.findMany({
      where: { teardownId },
      orderBy: { decidedAt: 'asc' },
    });
    return rows.map(toDomain);
  }

  async record(tx: Transaction, teardownId: string, approval: NewApproval): Promise<Approval> {
    const row = await prismaOf(tx).approval.create({
      data: { id: randomUUID(), teardownId, ...approval },
    });
    return toDomain(row);
  }

  /** Each teardown's decisions, oldest first; teardowns without any are absent. */
  async ofTeardowns(teardownIds: readonly string[]): Promise<Map<string, Approval[]>> {
    const rows = await this.prisma.approval.findMany({
      where: { teardownId: { in: [...teardownIds] } },
      orderBy: { decidedAt: 'asc' },
    });
    const byTeardown = new Map<string, Approval[]>();
    for (const row of rows) {
      const list = byTeardown.get(row.teardownId) ?? [];
      list.push(toDomain(row));
      byTeardown.set(row.teardownId, list);
    }
    return byTeardown;
  }
}

function toDomain(row: ApprovalRow): Approval {
  return {
    approver: row.approver,
    decision: row.decision as Decision,
    comment: row.comment,
    decidedAt: row.decidedAt,
  };
}
