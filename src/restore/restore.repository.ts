import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import type { NewAuditEvent } from '../audit/audit-event.js';
import { DomainError, type ErrorCode } from '../common/domain-error.js';
import { newRestoreId } from '../common/ids.js';
import { toStorableJson, toStorableText, truncate } from '../common/text.js';
import { type IdempotencyClaim, IdempotencyRepository } from '../db/idempotency.repository.js';
import { prismaOf } from '../db/prisma-unit-of-work.js';
import { type Prisma, PrismaService } from '../db/prisma.service.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import type { ArchiveSnapshot } from '../archive/manifest.js';
import {
  type NewRestore,
  type Restore,
  type RestoreItem,
  type RestoreItemKind,
  type RestorePlan,
  type RestoreStatus,
  RUNNING_RESTORE_STATUSES,
} from './restore.js';
import type { RestoreItemLog } from './restore-item-log.js';

type Row = Awaited<ReturnType<PrismaService['restore']['findUniqueOrThrow']>>;

/** Thrown to a runner whose fencing token no longer matches the row: another runner owns it now. */
export class RestoreLeaseLostError extends DomainError {
  constructor(restoreId: string) {
    super('LEASE_LOST', `restore ${restoreId} is now run by another worker`, { retryable: true });
  }
}

export type CreateRestoreOutcome =
  | { kind: 'created'; restore: Restore }
  | { kind: 'replayed'; restore: Restore }
  | { kind: 'key_reused'; resourceId: string };

/** The fields a runner may change on its restore. */
export interface RestorePatch {
  status?: RestoreStatus;
  plan?: RestorePlan;
  newWorkflowId?: string;
  idMapKey?: string;
  upstreamRequests?: number;
  error?: Restore['error'];
  completedAt?: Date;
  /** A finished step or item: the crash-loop count starts again. */
  progressed?: boolean;
}

const MAX_ERROR_MESSAGE = 2000;

/**
 * The restore and restore_item tables: a restore's state and the intent log of what it creates
 * upstream. Every runner write is fenced by the lease token of its claim.
 */
@Injectable()
export class RestoreRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly unitOfWork: UnitOfWork,
    private readonly audit: AuditRepository,
    private readonly idempotency: IdempotencyRepository,
  ) {}

  /** Creates the restore and its `restore.requested` event together (or replays an Idempotency-Key). */
  async create(input: NewRestore, claim: IdempotencyClaim | null): Promise<CreateRestoreOutcome> {
    return this.unitOfWork.run(async (t) => {
      const tx = prismaOf(t);
      if (claim) {
        const previous = await this.idempotency.lookupWithin(t, claim);
        if (previous.kind === 'reused') return { kind: 'key_reused', resourceId: previous.resourceId };
        if (previous.kind === 'replay') {
          const row = await tx.restore.findUnique({ where: { id: previous.resourceId } });
          if (row) return { kind: 'replayed', restore: toDomain(row) };
        }
      }
      const row = await tx.restore.create({
        data: { id: newRestoreId(), ...input, status: 'queued' },
      });
      if (claim) await this.idempotency.recordWithin(t, claim, row.id);
      await this.audit.appendWithin(t, [
        {
          actor: input.requestedBy,
          teardownId: input.teardownId,
          workflowId: input.sourceWorkflowId,
          type: 'restore.requested',
          details: {
            restoreId: row.id,
            reason: input.reason,
            snapshot: input.snapshot,
            dryRun: input.dryRun,
            excludeLeadStatuses: input.excludeLeadStatuses,
          },
        },
      ]);
      return { kind: 'created', restore: toDomain(row) };
    });
  }

  async findById(id: string): Promise<Restore | null> {
    const row = await this.prisma.restore.findUnique({ where: { id } });
    return row ? toDomain(row) : null;
  }

  /** A teardown's restores, newest first. */
  async listByTeardown(teardownId: string, limit: number): Promise<Restore[]> {
    const rows = await this.prisma.restore.findMany({
      where: { teardownId },
      orderBy: { id: 'desc' },
      take: limit,
    });
    return rows.map(toDomain);
  }

  async items(restoreId: string): Promise<RestoreItem[]> {
    const rows = await this.prisma.restoreItem.findMany({
      where: { restoreId },
      orderBy: [{ kind: 'asc' }, { seq: 'asc' }],
    });
    return rows.map((r) => ({
      kind: r.kind as RestoreItemKind,
      seq: r.seq,
      oldId: r.oldId,
      newId: r.newId,
      intendedAt: r.createdAt,
      leads: (r.result as Record<string, string> | null) ?? null,
    }));
  }

  /** Takes the lease when nobody holds a live one; each claim increments the fencing token. */
  async claim(id: string, owner: string, leaseSeconds: number): Promise<Restore | null> {
    const claimed = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE restore
         SET fencing_token = fencing_token + 1,
             claims_since_progress = claims_since_progress + 1,
             lease_owner = ${owner},
             lease_expires_at = now() + make_interval(secs => ${leaseSeconds}),
             updated_at = now()
       WHERE id = ${id}
         AND status = ANY(${[...RUNNING_RESTORE_STATUSES]}::text[])
         AND (lease_expires_at IS NULL OR lease_expires_at < now())
      RETURNING id`;
    return claimed.length === 0 ? null : this.findById(id);
  }

  async renewLease(id: string, token: bigint, leaseSeconds: number): Promise<boolean> {
    const renewed = await this.prisma.$executeRaw`
      UPDATE restore SET lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
       WHERE id = ${id} AND fencing_token = ${token}`;
    return renewed === 1;
  }

  async holdsLease(id: string, token: bigint): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM restore WHERE id = ${id} AND fencing_token = ${token} AND lease_expires_at > now()`;
    return rows.length === 1;
  }

  async release(id: string, token: bigint): Promise<void> {
    await this.prisma.restore.updateMany({
      where: { id, fencingToken: token },
      data: { leaseOwner: null, leaseExpiresAt: null },
    });
  }

  /** Running restores nobody holds a lease on and that did not move for `idleSeconds`. */
  async findStalled(idleSeconds: number, limit = 100): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM restore
       WHERE status = ANY(${[...RUNNING_RESTORE_STATUSES]}::text[])
         AND (lease_expires_at IS NULL OR lease_expires_at < now())
         AND updated_at < now() - make_interval(secs => ${idleSeconds})
       ORDER BY updated_at LIMIT ${limit}`;
    return rows.map((r) => r.id);
  }

  /** A fenced change of the runner's restore, with the audit events that go with it. */
  async update(restore: Restore, patch: RestorePatch, events: NewAuditEvent[] = []): Promise<Restore> {
    return this.unitOfWork.run(async (t) => {
      const tx = prismaOf(t);
      const changed = await tx.restore.updateMany({
        where: { id: restore.id, fencingToken: restore.fencingToken },
        data: dataOf(patch),
      });
      if (changed.count !== 1) throw new RestoreLeaseLostError(restore.id);
      if (events.length > 0) await this.audit.appendWithin(t, events);
      return toDomain(await tx.restore.findUniqueOrThrow({ where: { id: restore.id } }));
    });
  }

  /** The intent log of the runner's restore; each write is refused once the lease is lost. */
  itemLog(restore: Restore): RestoreItemLog {
    const fenced = async <T>(work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> =>
      this.unitOfWork.run(async (t) => {
        const tx = prismaOf(t);
        const held = await tx.restore.updateMany({
          where: { id: restore.id, fencingToken: restore.fencingToken },
          data: { updatedAt: new Date(), claimsSinceProgress: 0 },
        });
        if (held.count !== 1) throw new RestoreLeaseLostError(restore.id);
        return work(tx);
      });
    const where = (kind: RestoreItemKind, seq: number) => ({
      restoreId_kind_seq: { restoreId: restore.id, kind, seq },
    });
    return {
      items: () => this.items(restore.id),
      intend: (kind, seq, oldId) =>
        fenced(async (tx) => {
          const row = await tx.restoreItem.upsert({
            where: where(kind, seq),
            create: { restoreId: restore.id, kind, seq, oldId: toStorableText(oldId) },
            update: {},
          });
          return { kind, seq, oldId: row.oldId, newId: row.newId, intendedAt: row.createdAt, leads: null };
        }),
      record: (kind, seq, newId, leads) =>
        fenced(async (tx) => {
          await tx.restoreItem.update({
            where: where(kind, seq),
            data: { newId, doneAt: new Date(), ...(leads ? { result: leads } : {}) },
          });
        }),
      withdraw: (kind, seq) =>
        fenced(async (tx) => {
          await tx.restoreItem.deleteMany({ where: { restoreId: restore.id, kind, seq } });
        }),
    };
  }
}

function dataOf(patch: RestorePatch): Prisma.RestoreUpdateManyMutationInput {
  const data: Prisma.RestoreUpdateManyMutationInput = { updatedAt: new Date() };
  if (patch.status !== undefined) data.status = patch.status;
  if (patch.plan !== undefined) data.plan = toStorableJson(patch.plan) as Prisma.InputJsonValue;
  if (patch.newWorkflowId !== undefined) data.newWorkflowId = patch.newWorkflowId;
  if (patch.idMapKey !== undefined) data.idMapKey = patch.idMapKey;
  if (patch.upstreamRequests !== undefined) data.upstreamRequests = patch.upstreamRequests;
  if (patch.completedAt !== undefined) data.completedAt = patch.completedAt;
  if (patch.progressed) data.claimsSinceProgress = 0;
  if (patch.error !== undefined) {
    data.errorCode = patch.error?.code ?? null;
    data.errorMessage = patch.error ? truncate(toStorableText(patch.error.message), MAX_ERROR_MESSAGE) : null;
    data.errorRetryable = patch.error?.retryable ?? null;
    data.errorDetails = patch.error
      ? (toStorableJson(patch.error.details) as Prisma.InputJsonValue)
      : undefined;
  }
  return data;
}

function toDomain(row: Row): Restore {
  return {
    id: row.id,
    teardownId: row.teardownId,
    sourceWorkflowId: row.sourceWorkflowId,
    snapshot: row.snapshot as ArchiveSnapshot,
    reason: row.reason,
    dryRun: row.dryRun,
    excludeLeadStatuses: row.excludeLeadStatuses,
    requestedBy: row.requestedBy,
    status: row.status as RestoreStatus,
    fencingToken: row.fencingToken,
    claimsSinceProgress: row.claimsSinceProgress,
    plan: (row.plan as RestorePlan | null) ?? null,
    newWorkflowId: row.newWorkflowId,
    idMapKey: row.idMapKey,
    upstreamRequests: row.upstreamRequests,
    error: row.errorCode
      ? {
          code: row.errorCode as ErrorCode,
          message: row.errorMessage ?? '',
          retryable: row.errorRetryable ?? false,
          details: (row.errorDetails as Record<string, unknown> | null) ?? {},
        }
      : null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    completedAt: row.completedAt,
  };
}
