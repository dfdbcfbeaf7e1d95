import { Injectable } from '@nestjs/common';
import type { ApprovalSubject, ApprovalSubjects } from '../approvals/approval.js';
import type { LeadsCheckpoints } from '../archive/leads-checkpoint.js';
import type { ArchiveRef } from '../archive/manifest.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { NewAuditEvent } from '../audit/audit-event.js';
import { DomainError, type ErrorCode } from '../common/domain-error.js';
import { newTeardownId } from '../common/ids.js';
import { toStorableText, truncate } from '../common/text.js';
import { prismaOf } from '../db/prisma-unit-of-work.js';
import { type Prisma, PrismaService } from '../db/prisma.service.js';
import { type IdempotencyClaim, IdempotencyRepository } from '../db/idempotency.repository.js';
import { type Transaction, UnitOfWork } from '../db/unit-of-work.js';
import type { HeldTeardown, HeldTeardowns } from '../holds/legal-hold.js';
import { LegalHoldRepository } from '../holds/legal-hold.repository.js';
import type { RestorableTeardowns } from '../restore/restore.js';
import {
  ACTIVE_STATUSES,
  type NewTeardown,
  type ProgressEstimate,
  RUNNING_STATUSES,
  TEARDOWN_STATUSES,
  type Teardown,
  type TeardownStatus,
  type TeardownStep,
  isTerminal,
} from './teardown.js';
import { initialStatus, stateOf, transition, type TeardownEvent } from './teardown-state.js';

type Tx = Prisma.TransactionClient;
type Row = Awaited<ReturnType<PrismaService['teardown']['findUniqueOrThrow']>>;

/** Thrown to a runner whose fencing token no longer matches the row: another runner owns it now. */
export class LeaseLostError extends DomainError {
  constructor(teardownId: string) {
    super('LEASE_LOST', `teardown ${teardownId} is now run by another worker`, { retryable: true });
  }
}

/** The fields a runner may change on its teardown. */
export interface TeardownPatch {
  status?: TeardownStatus;
  step?: TeardownStep;
  leadsExported?: number;
  leadsTotal?: number | null;
  upstreamRequests?: number;
  estimate?: ProgressEstimate | null;
  archive?: ArchiveRef;
  cancelledAt?: Date;
  deletePending?: boolean;
  deleteWaitStartedAt?: Date | null;
  deletedAt?: Date;
  error?: Teardown['error'];
  completedAt?: Date;
}

export type { IdempotencyClaim };

export type CreateOutcome =
  | { kind: 'created'; teardown: Teardown }
  | { kind: 'replayed'; teardown: Teardown }
  | { kind: 'key_reused'; teardownId: string }
  | { kind: 'in_progress'; teardownId: string }
  | { kind: 'on_hold'; holdId: string };

export interface TeardownMetricsSnapshot {
  byStatus: Record<TeardownStatus, number>;
  oldestQueuedSeconds: number;
  longestIdleRunningSeconds: number;
}

export interface TeardownListFilter {
  workflowId?: string;
  status?: TeardownStatus;
  requestedBy?: string;
}

/** In code points. Error messages quote DialNexa and S3, which bound nothing. */
const MAX_ERROR_MESSAGE = 2000;

/**
 * The teardown table: the durable state machine. Every runner write is fenced by its token. It
 * is also the approvals module's ApprovalSubjects port and the holds module's HeldTeardowns port:
 * the one door to the teardown table for a decision or a hold, inside their units of work.
 *
 * A change that also writes another module's tables (the audit event, the workflow's lock and
 * hold check of the holds module) runs in one UnitOfWork: this repository queries its own tables
 * through `prismaOf(t)` and hands the other modules' repositories the opaque Transaction `t`.
 */
@Injectable()
export class TeardownRepository implements ApprovalSubjects, HeldTeardowns, RestorableTeardowns {
  constructor(
    private readonly prisma: PrismaService,
    private readonly unitOfWork: UnitOfWork,
    private readonly holds: LegalHoldRepository,
    private readonly audit: AuditRepository,
    private readonly idempotency: IdempotencyRepository,
  ) {}

  async create(input: NewTeardown, idempotency: IdempotencyClaim | null): Promise<CreateOutcome> {
    return this.unitOfWork.run(async (t) => {
      const tx = prismaOf(t);
      if (idempotency) {
        const previous = await this.idempotency.lookupWithin(t, idempotency);
        if (previous.kind === 'reused') return { kind: 'key_reused', teardownId: previous.resourceId };
        if (previous.kind === 'replay') {
          const teardown = await tx.teardown.findUnique({ where: { id: previous.resourceId } });
          if (teardown) return { kind: 'replayed', teardown: toDomain(teardown) };
        }
      }
      await this.holds.lockWorkflow(t, input.workflowId);
      const active = await tx.teardown.findUnique({
        where: { activeWorkflowId: input.workflowId },
        select: { id: true },
      });
      if (active) return { kind: 'in_progress', teardownId: active.id };
      const holdId = await this.holds.activeHoldId(t, input.workflowId);
      if (holdId) return { kind: 'on_hold', holdId };

      const id = newTeardownId();
      const row = await tx.teardown.create({
        data: {
          id,
          workflowId: input.workflowId,
          activeWorkflowId: input.workflowId,
          status: initialStatus(input.approvalsRequired),
          approvalsRequired: input.approvalsRequired,
          step: 'export',
          dryRun: input.dryRun,
          includeLeadHistory: input.includeLeadHistory,
          reason: input.reason,
          ticket: input.ticket,
          requestedBy: input.requestedBy,
        },
      });
      if (idempotency) {
        await this.idempotency.recordWithin(t, idempotency, id);
      }
      await this.audit.appendWithin(t, [
        {
          actor: input.requestedBy,
          teardownId: id,
          workflowId: input.workflowId,
          type: 'teardown.requested',
          details: {
            reason: input.reason,
            ticket: input.ticket,
            dryRun: input.dryRun,
            includeLeadHistory: input.includeLeadHistory,
            approvalsRequired: input.approvalsRequired,
          },
        },
      ]);
      return { kind: 'created', teardown: toDomain(row) };
    });
  }

  async findById(id: string): Promise<Teardown | null> {
    const row = await this.prisma.teardown.findUnique({ where: { id } });
    return row ? toDomain(row) : null;
  }

  /** Newest first; the cursor is the last id of the previous page (ids sort by creation time). */
  async list(filter: TeardownListFilter, limit: number, beforeId?: string): Promise<Teardown[]> {
    const rows = await this.prisma.teardown.findMany({
      where: {
        workflowId: filter.workflowId,
        status: filter.status,
        requestedBy: filter.requestedBy,
        id: beforeId ? { lt: beforeId } : undefined,
      },
      orderBy: { id: 'desc' },
      take: limit,
    });
    return rows.map(toDomain);
  }

  /**
   * Takes the teardown's lease when nobody holds a live one. Each claim increments the fencing
   * token, so a runner that lost its lease (paused, partitioned) is refused on its next write.
   */
  async claim(id: string, owner: string, leaseSeconds: number): Promise<Teardown | null> {
    const claimed = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE teardown
         SET fencing_token = fencing_token + 1,
             claims_since_progress = claims_since_progress + 1,
             lease_owner = ${owner},
             lease_expires_at = now() + make_interval(secs => ${leaseSeconds}),
             updated_at = now()
       WHERE id = ${id}
         AND status = ANY(${[...RUNNING_STATUSES]}::text[])
         AND (lease_expires_at IS NULL OR lease_expires_at < now())
      RETURNING id`;
    if (claimed.length === 0) return null;
    return this.findById(id);
  }

  async renewLease(id: string, token: bigint, leaseSeconds: number): Promise<boolean> {
    const renewed = await this.prisma.$executeRaw`
      UPDATE teardown SET lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
       WHERE id = ${id} AND fencing_token = ${token}`;
    return renewed === 1;
  }

  /**
   * True while the runner holding `token` still has a live lease: nobody claimed the teardown
   * since, and the lease has not run out (once it has, another worker may claim it any moment).
   * Asked right before every archive write.
   */
  async holdsLease(id: string, token: bigint): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM teardown
       WHERE id = ${id} AND fencing_token = ${token} AND lease_expires_at > now()`;
    return rows.length === 1;
  }

  async release(id: string, token: bigint): Promise<void> {
    await this.prisma.teardown.updateMany({
      where: { id, fencingToken: token },
      data: { leaseOwner: null, leaseExpiresAt: null },
    });
  }

  /**
   * Applies a runner's change and its audit events in one transaction, only while the runner
   * still holds the lease (its token matches) and the teardown is in `expectStatus`.
   */
  async update(
    teardown: Teardown,
    patch: TeardownPatch,
    events: NewAuditEvent[] = [],
    expectStatus: TeardownStatus = teardown.status,
  ): Promise<Teardown> {
    return this.unitOfWork.run(async (t) => {
      const tx = prismaOf(t);
      const changed = await tx.teardown.updateMany({
        where: { id: teardown.id, fencingToken: teardown.fencingToken, status: expectStatus },
        data: toData(patch),
      });
      if (changed.count !== 1) throw await this.whyRefused(tx, teardown);
      await this.audit.appendWithin(t, events);
      return toDomain(await tx.teardown.findUniqueOrThrow({ where: { id: teardown.id } }));
    });
  }

  /**
   * The archive module's LeadsCheckpoints port for one export: the multipart upload of its leads
   * and the parts recorded so far. Every write is fenced as `update` is (the runner's token, the
   * teardown still exporting), in one unit of work with the check.
   */
  leadsCheckpoints(teardown: Teardown): LeadsCheckpoints {
    return {
      load: async () => {
        const row = await this.prisma.teardown.findUnique({
          where: { id: teardown.id },
          select: { leadsUpload: true },
        });
        const upload = row?.leadsUpload as { key: string; uploadId: string; seeds: [number, number] } | null;
        if (!upload) return null;
        const parts = await this.prisma.leadsUploadPart.findMany({
          where: { teardownId: teardown.id, uploadId: upload.uploadId },
          orderBy: { partNumber: 'asc' },
        });
        return {
          key: upload.key,
          uploadId: upload.uploadId,
          seeds: upload.seeds,
          parts: parts.map((part) => ({
            partNumber: part.partNumber,
            etag: part.etag,
            bytes: part.bytes,
            leads: part.leads,
            firstPage: part.firstPage,
            lastPage: part.lastPage,
            sha256State: Buffer.from(part.sha256State),
            leadsDigest: part.leadsDigest,
            fingerprints: Buffer.from(part.fingerprints),
            leadsTotalReported: part.leadsTotalReported,
          })),
        };
      },
      begin: (upload) =>
        this.fenced(teardown, async (tx) => {
          await tx.leadsUploadPart.deleteMany({ where: { teardownId: teardown.id } });
          await tx.teardown.update({
            where: { id: teardown.id },
            data: { leadsUpload: { key: upload.key, uploadId: upload.uploadId, seeds: upload.seeds } },
          });
        }),
      savePart: (part) =>
        this.fenced(teardown, async (tx) => {
          const row = await tx.teardown.findUniqueOrThrow({
            where: { id: teardown.id },
            select: { leadsUpload: true },
          });
          const upload = row.leadsUpload as { uploadId: string } | null;
          if (!upload) throw new DomainError('INTERNAL_ERROR', `teardown ${teardown.id} has no leads upload`);
          const data = {
            uploadId: upload.uploadId,
            etag: part.etag,
            bytes: part.bytes,
            leads: part.leads,
            firstPage: part.firstPage,
            lastPage: part.lastPage,
            sha256State: new Uint8Array(part.sha256State),
            leadsDigest: part.leadsDigest,
            fingerprints: new Uint8Array(part.fingerprints),
            leadsTotalReported: part.leadsTotalReported,
          };
          await tx.leadsUploadPart.upsert({
            where: { teardownId_partNumber: { teardownId: teardown.id, partNumber: part.partNumber } },
            create: { teardownId: teardown.id, partNumber: part.partNumber, ...data },
            update: data,
          });
        }),
      clear: () =>
        this.fenced(teardown, async (tx) => {
          await tx.leadsUploadPart.deleteMany({ where: { teardownId: teardown.id } });
          await tx.$executeRaw`UPDATE teardown SET leads_upload = NULL WHERE id = ${teardown.id}`;
        }),
    };
  }

  /** Runs `work` only while the runner holding `teardown`'s token still has it in its status. */
  private async fenced(teardown: Teardown, work: (tx: Tx) => Promise<void>): Promise<void> {
    await this.unitOfWork.run(async (t) => {
      const tx = prismaOf(t);
      const changed = await tx.teardown.updateMany({
        where: { id: teardown.id, fencingToken: teardown.fencingToken, status: teardown.status },
        data: { updatedAt: new Date() },
      });
      if (changed.count !== 1) throw await this.whyRefused(tx, teardown);
      await work(tx);
    });
  }

  /**
   * The destructive-call gate's transaction (see DestructiveCallGate), run right before each
   * cancel or DELETE request leaves the process, resends included. Under the workflow's lock (the
   * one a hold takes when it is placed) it checks, all at once:
   * - the teardown's `archive.exported` event is committed, and `archive.finalized` before a DELETE;
   * - no legal hold is in force on the workflow;
   * - this worker's lease is current: its fencing token, and not expired;
   * - the teardown is in the step's status (an abort moved it out);
   * and then records the intent: `cancelSentAt` for a cancel; `deletePending` (and one more
   * `deleteAttempts`) for a DELETE. `deletePendingBefore` says whether an earlier DELETE of this
   * teardown may have been performed: only then may a 404 be taken as our deletion.
   */
  async passDestructiveGate(
    teardown: Teardown,
    kind: 'cancel' | 'delete',
  ): Promise<{ teardown: Teardown; deletePendingBefore: boolean }> {
    return this.unitOfWork.run(async (t) => {
      const tx = prismaOf(t);
      await this.holds.lockWorkflow(t, teardown.workflowId);
      await tx.$queryRaw`SELECT id FROM teardown WHERE id = ${teardown.id} FOR UPDATE`;
      const row = await tx.teardown.findUnique({ where: { id: teardown.id } });
      const live = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM teardown
         WHERE id = ${teardown.id} AND fencing_token = ${teardown.fencingToken} AND lease_expires_at > now()`;
      if (!row || live.length !== 1) throw new LeaseLostError(teardown.id);
      const status = kind === 'cancel' ? 'cancelling' : 'deleting';
      if (row.status !== status) throw new TeardownStoppedError(toDomain(row));
      const required = kind === 'cancel' ? ['archive.exported'] : ['archive.exported', 'archive.finalized'];
      for (const type of required as Array<'archive.exported' | 'archive.finalized'>) {
        if (!(await this.audit.hasWithin(t, teardown.id, type))) {
          throw new DomainError(
            'INTERNAL_ERROR',
            `refusing to ${kind} workflow ${teardown.workflowId} upstream: ${type} is not committed`,
          );
        }
      }
      const holdId = await this.holds.activeHoldId(t, teardown.workflowId);
      if (holdId) {
        throw new DomainError(
          'WORKFLOW_ON_HOLD',
          `workflow ${teardown.workflowId} is under legal hold ${holdId}`,
          {
            retryable: true,
            details: { holdId },
          },
        );
      }
      const now = new Date();
      const updated = await tx.teardown.update({
        where: { id: teardown.id },
        data:
          kind === 'cancel'
            ? { cancelSentAt: row.cancelSentAt ?? now, updatedAt: now }
            : { deletePending: true, deleteAttempts: { increment: 1 }, updatedAt: now },
      });
      return { teardown: toDomain(updated), deletePendingBefore: row.deletePending };
    });
  }

  /**
   * A change requested through the API (abort, retry): the pure state machine decides, under a
   * row lock, so it cannot interleave with a runner's fenced writes.
   */
  async applyCommand(
    id: string,
    event: Extract<TeardownEvent, { type: 'abort_requested' | 'retry_requested' }>,
    audit: (teardown: Teardown) => NewAuditEvent,
  ): Promise<Teardown> {
    return this.unitOfWork.run(async (t) => {
      const tx = prismaOf(t);
      const owner = await tx.teardown.findUnique({ where: { id }, select: { workflowId: true } });
      if (!owner) throw new DomainError('TEARDOWN_NOT_FOUND', `teardown ${id} does not exist`);
      // Locks in the order every other transaction takes them (the workflow's, then the row's), so
      // a retry racing the destructive-call gate waits instead of deadlocking. The workflow lock is
      // also `create`'s: without it a concurrent create and retry both pass the check below and the
      // loser fails on the unique index instead of answering TEARDOWN_IN_PROGRESS.
      await this.holds.lockWorkflow(t, owner.workflowId);
      await tx.$queryRaw`SELECT id FROM teardown WHERE id = ${id} FOR UPDATE`;
      const row = await tx.teardown.findUniqueOrThrow({ where: { id } });
      const current = toDomain(row);
      const next = transition(stateOf(current), event);
      if (event.type === 'retry_requested') {
        const active = await tx.teardown.findUnique({
          where: { activeWorkflowId: current.workflowId },
          select: { id: true },
        });
        // a hold stops everything, a retry included: it would send what the hold forbids
        const holdId = await this.holds.activeHoldId(t, current.workflowId);
        if (holdId) {
          throw new DomainError(
            'WORKFLOW_ON_HOLD',
            `workflow ${current.workflowId} is under legal hold ${holdId}: lift it before retrying`,
            { details: { holdId } },
          );
        }
        if (active) {
          throw new DomainError(
            'TEARDOWN_IN_PROGRESS',
            `teardown ${active.id} of workflow ${current.workflowId} is not finished`,
            {
              details: { teardownId: active.id },
            },
          );
        }
      }
      const patch: TeardownPatch = { status: next.status, error: next.error };
      if (event.type === 'retry_requested') patch.deleteWaitStartedAt = null;
      const updated = await tx.teardown.update({
        where: { id },
        data: {
          ...toData(patch),
          attempt: event.type === 'retry_requested' ? { increment: 1 } : undefined,
          claimsSinceProgress: event.type === 'retry_requested' ? 0 : undefined,
          activeWorkflowId: event.type === 'retry_requested' ? current.workflowId : null,
        },
      });
      await this.audit.appendWithin(t, [audit(toDomain(updated))]);
      return toDomain(updated);
    });
  }

  // The ApprovalSubjects port (contract in src/approvals/approval.ts), called inside a decision's
  // unit of work: the approvals module never touches the teardown table itself.

  async lockForDecision(tx: Transaction, id: string): Promise<ApprovalSubject | null> {
    const db = prismaOf(tx);
    await db.$queryRaw`SELECT id FROM teardown WHERE id = ${id} FOR UPDATE`;
    const row = await db.teardown.findUnique({ where: { id } });
    return row ? toDomain(row) : null;
  }

  async applyDecision(tx: Transaction, id: string, status: TeardownStatus): Promise<Teardown> {
    const row = await prismaOf(tx).teardown.update({
      where: { id },
      data: toData({ status, completedAt: isTerminal(status) ? new Date() : undefined }),
    });
    return toDomain(row);
  }

  async awaitingApprovalRequestedBefore(before: Date, limit: number): Promise<string[]> {
    const rows = await this.prisma.teardown.findMany({
      where: { status: 'awaiting_approval', createdAt: { lt: before } },
      orderBy: { createdAt: 'asc' },
      take: limit,
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }

  // The HeldTeardowns port (contract in src/holds/legal-hold.ts), called inside the hold's unit of
  // work under the workflow's lock: the holds module never reads the teardown table itself.

  async notCompletedOf(tx: Transaction, workflowId: string): Promise<HeldTeardown[]> {
    const rows = await prismaOf(tx).teardown.findMany({
      where: { workflowId, status: { not: 'completed' } },
      select: { id: true, status: true, cancelSentAt: true, deleteAttempts: true },
      orderBy: { id: 'asc' },
    });
    return rows.map((row) => ({
      id: row.id,
      status: row.status,
      // the gate records each intent before the request may leave the process
      cancelSent: row.cancelSentAt !== null,
      deleteSent: row.deleteAttempts > 0,
    }));
  }

  /** Forgets Idempotency-Keys older than 24 hours (they are ignored from then on anyway). */
  async purgeIdempotencyKeys(): Promise<number> {
    return this.idempotency.purgeExpired();
  }

  /** Running teardowns that nobody holds a lease on and that did not move for `idleSeconds`. */
  async findStalled(idleSeconds: number, limit = 100): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM teardown
       WHERE status = ANY(${[...RUNNING_STATUSES]}::text[])
         AND (lease_expires_at IS NULL OR lease_expires_at < now())
         AND updated_at < now() - make_interval(secs => ${idleSeconds})
       ORDER BY updated_at LIMIT ${limit}`;
    return rows.map((r) => r.id);
  }

  /**
   * The teardown gauges of /metrics, in two cheap queries: counts by status (an index-only scan of
   * the status index), and the oldest queued and longest idle running teardown (the few rows in
   * running statuses).
   */
  async metricsSnapshot(): Promise<TeardownMetricsSnapshot> {
    const counts = await this.prisma.$queryRaw<{ status: string; n: number }[]>`
      SELECT status, count(*)::int AS n FROM teardown GROUP BY status`;
    const [ages] = await this.prisma.$queryRaw<{ queued: number | null; idle: number | null }[]>`
      SELECT EXTRACT(EPOCH FROM now() - min(updated_at) FILTER (WHERE status = 'queued'))::float8 AS queued,
             EXTRACT(EPOCH FROM now() - min(updated_at))::float8 AS idle
        FROM teardown
       WHERE status = ANY(${[...RUNNING_STATUSES]}::text[])`;
    const byStatus = Object.fromEntries(TEARDOWN_STATUSES.map((status) => [status, 0])) as Record<
      TeardownStatus,
      number
    >;
    for (const row of counts) {
      if ((TEARDOWN_STATUSES as readonly string[]).includes(row.status))
        byStatus[row.status as TeardownStatus] = row.n;
    }
    return {
      byStatus,
      oldestQueuedSeconds: Math.max(0, ages?.queued ?? 0),
      longestIdleRunningSeconds: Math.max(0, ages?.idle ?? 0),
    };
  }

  private async whyRefused(tx: Tx, teardown: Teardown): Promise<DomainError> {
    const row = await tx.teardown.findUnique({ where: { id: teardown.id } });
    if (row && row.fencingToken === teardown.fencingToken) {
      return new TeardownStoppedError(toDomain(row));
    }
    return new LeaseLostError(teardown.id);
  }
}

/** The runner's write was refused because the teardown changed status under it (e.g. aborted). */
export class TeardownStoppedError extends DomainError {
  constructor(readonly current: Teardown) {
    super('TEARDOWN_NOT_ABORTABLE', `teardown ${current.id} is now ${current.status}`, { retryable: false });
  }
}

function toData(patch: TeardownPatch): Prisma.TeardownUpdateManyMutationInput {
  const data: Prisma.TeardownUpdateManyMutationInput = { updatedAt: new Date() };
  if (patch.status !== undefined) {
    data.status = patch.status;
    data.activeWorkflowId = (ACTIVE_STATUSES as readonly string[]).includes(patch.status) ? undefined : null;
  }
  if (patch.step !== undefined) {
    data.step = patch.step;
    data.claimsSinceProgress = 0; // only a finished step moves it: the teardown made progress
  }
  if (patch.leadsExported !== undefined) data.leadsExported = patch.leadsExported;
  if (patch.leadsTotal !== undefined) data.leadsTotal = patch.leadsTotal;
  if (patch.upstreamRequests !== undefined) data.upstreamRequests = patch.upstreamRequests;
  if (patch.estimate !== undefined) {
    data.upstreamRequestsLeft = patch.estimate?.requestsLeft ?? null;
    data.secondsLeft = patch.estimate?.secondsLeft ?? null;
    data.estimatedAt = patch.estimate?.at ?? null;
  }
  if (patch.archive !== undefined) data.archive = patch.archive as unknown as Prisma.InputJsonValue;
  if (patch.cancelledAt !== undefined) data.cancelledAt = patch.cancelledAt;
  if (patch.deletePending !== undefined) data.deletePending = patch.deletePending;
  if (patch.deleteWaitStartedAt !== undefined) data.deleteWaitStartedAt = patch.deleteWaitStartedAt;
  if (patch.deletedAt !== undefined) data.deletedAt = patch.deletedAt;
  if (patch.completedAt !== undefined) data.completedAt = patch.completedAt;
  if (patch.error !== undefined) {
    data.errorCode = patch.error?.code ?? null;
    // A failure must always be recordable: a refused write leaves the teardown running its step
    // again (for the cancel, sending it again on every claim).
    data.errorMessage = patch.error ? truncate(toStorableText(patch.error.message), MAX_ERROR_MESSAGE) : null;
    data.errorStep = patch.error?.step ?? null;
    data.errorRetryable = patch.error?.retryable ?? null;
  }
  return data;
}

function toDomain(row: Row): Teardown {
  return {
    id: row.id,
    workflowId: row.workflowId,
    status: row.status as TeardownStatus,
    step: row.step as TeardownStep,
    dryRun: row.dryRun,
    includeLeadHistory: row.includeLeadHistory,
    reason: row.reason,
    ticket: row.ticket,
    requestedBy: row.requestedBy,
    attempt: row.attempt,
    approvalsRequired: row.approvalsRequired,
    fencingToken: row.fencingToken,
    claimsSinceProgress: row.claimsSinceProgress,
    leaseOwner: row.leaseOwner,
    leaseExpiresAt: row.leaseExpiresAt,
    leadsExported: row.leadsExported,
    leadsTotal: row.leadsTotal,
    upstreamRequests: row.upstreamRequests,
    estimate: row.estimatedAt
      ? { requestsLeft: row.upstreamRequestsLeft, secondsLeft: row.secondsLeft, at: row.estimatedAt }
      : null,
    cancelSentAt: row.cancelSentAt,
    cancelledAt: row.cancelledAt,
    deletePending: row.deletePending,
    deleteAttempts: row.deleteAttempts,
    deleteWaitStartedAt: row.deleteWaitStartedAt,
    deletedAt: row.deletedAt,
    archive: (row.archive ?? null) as unknown as ArchiveRef | null,
    error:
      row.errorCode && row.errorStep
        ? {
            code: row.errorCode as ErrorCode,
            message: row.errorMessage ?? '',
            step: row.errorStep as TeardownStep,
            retryable: row.errorRetryable ?? false,
          }
        : null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    completedAt: row.completedAt,
  };
}
