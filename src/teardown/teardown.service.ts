import { Inject, Injectable, Logger } from '@nestjs/common';
import { ArchiveService, type ArchiveDescription } from '../archive/archive.service.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { AuditEvent } from '../audit/audit-event.js';
import { type Caller, hasRole } from '../auth/caller.js';
import { DomainError } from '../common/domain-error.js';
import { requestHashOf } from '../db/idempotency.repository.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import type { Teardown } from './teardown.js';
import type { CreateTeardownDto, ListTeardownsDto } from './teardown.dto.js';
import { TeardownRepository } from './teardown.repository.js';

const ARCHIVE_URL_TTL_SECONDS = 900;

/** The teardown use cases behind the REST API. */
@Injectable()
export class TeardownService {
  private readonly logger = new Logger(TeardownService.name);

  constructor(
    private readonly teardowns: TeardownRepository,
    private readonly audit: AuditRepository,
    private readonly archive: ArchiveService,
    private readonly queue: JobQueueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(
    caller: Caller,
    dto: CreateTeardownDto,
    idempotencyKey: string | undefined,
  ): Promise<{ teardown: Teardown; replayed: boolean }> {
    const input = {
      workflowId: dto.workflowId,
      reason: dto.reason,
      ticket: dto.ticket ?? null,
      dryRun: dto.dryRun ?? false,
      includeLeadHistory: dto.includeLeadHistory ?? false,
      requestedBy: caller.name,
      approvalsRequired: this.config.approvalsRequired,
    };
    const idempotency = idempotencyKey
      ? {
          caller: caller.name,
          key: idempotencyKey,
          requestHash: requestHashOf(dto),
        }
      : null;
    const outcome = await this.teardowns.create(input, idempotency);
    switch (outcome.kind) {
      case 'in_progress':
        throw new DomainError(
          'TEARDOWN_IN_PROGRESS',
          `workflow ${dto.workflowId} already has an unfinished teardown`,
          {
            details: { teardownId: outcome.teardownId },
          },
        );
      case 'key_reused':
        throw new DomainError(
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was used with a different request body in the last 24 hours',
          { details: { teardownId: outcome.teardownId } },
        );
      case 'on_hold':
        throw new DomainError('WORKFLOW_ON_HOLD', `workflow ${dto.workflowId} is under a legal hold`, {
          details: { holdId: outcome.holdId },
        });
      case 'replayed':
        return { teardown: outcome.teardown, replayed: true };
      case 'created':
        // one awaiting approval is queued by the approval that completes it
        if (outcome.teardown.status === 'queued') await this.queue.offer(outcome.teardown.id);
        return { teardown: outcome.teardown, replayed: false };
    }
  }

  async get(caller: Caller, id: string): Promise<Teardown> {
    const teardown = await this.teardowns.findById(id);
    // Another requester's teardown is reported as missing, not forbidden: its existence is private.
    if (!teardown || !this.canSee(caller, teardown)) {
      throw new DomainError('TEARDOWN_NOT_FOUND', `teardown ${id} does not exist`);
    }
    return teardown;
  }

  /** `requestedBy` narrows the list for callers who see every teardown (the console's filter). */
  async list(
    caller: Caller,
    query: ListTeardownsDto & { requestedBy?: string },
  ): Promise<{ data: Teardown[]; nextCursor: string | null }> {
    const requestedBy = this.seesAll(caller) ? query.requestedBy : caller.name;
    const rows = await this.teardowns.list(
      { workflowId: query.workflowId, status: query.status, requestedBy },
      query.limit + 1,
      query.cursor,
    );
    const data = rows.slice(0, query.limit);
    return { data, nextCursor: rows.length > query.limit ? data[data.length - 1]!.id : null };
  }

  async abort(caller: Caller, id: string): Promise<Teardown> {
    const teardown = await this.get(caller, id);
    this.assertMayChange(caller, teardown);
    const aborted = await this.teardowns.applyCommand(id, { type: 'abort_requested' }, (aborted) => ({
      actor: caller.name,
      teardownId: id,
      workflowId: aborted.workflowId,
      type: 'teardown.aborted',
      details: {
        step: aborted.step,
        // the archive stays, and says that no deletion followed it
        archive: aborted.archive?.manifestKey ?? null,
        followedByDeletion: false,
      },
    }));
    try {
      await this.archive.markNotDeleted(
        { teardownId: id, workflowId: aborted.workflowId },
        {
          status: 'aborted',
          abortedBy: caller.name,
          abortedAt: aborted.updatedAt.toISOString(),
          step: aborted.step,
        },
      );
    } catch (error) {
      // the audit event already records the abort; the marker in the bucket is a convenience
      this.logger.warn(
        `teardown ${id}: could not write the aborted marker to the archive (${String(error)})`,
      );
    }
    return aborted;
  }

  async retry(caller: Caller, id: string): Promise<Teardown> {
    const teardown = await this.get(caller, id);
    this.assertMayChange(caller, teardown);
    const retried = await this.teardowns.applyCommand(id, { type: 'retry_requested' }, (queued) => ({
      actor: caller.name,
      teardownId: id,
      workflowId: queued.workflowId,
      type: 'teardown.retried',
      details: { fromStep: queued.step, attempt: queued.attempt, previousError: teardown.error },
    }));
    await this.queue.offer(id);
    return retried;
  }

  async auditTrail(caller: Caller, id: string): Promise<AuditEvent[]> {
    await this.get(caller, id);
    return this.audit.forTeardown(id);
  }

  /** The export's manifest and download URLs, and the final snapshot's once it was taken. */
  async archiveOf(
    caller: Caller,
    id: string,
  ): Promise<ArchiveDescription & { final: ArchiveDescription | null }> {
    const teardown = await this.get(caller, id);
    if (!teardown.archive) {
      throw new DomainError('TEARDOWN_NOT_FOUND', `teardown ${id} has no archive yet`, {
        details: { status: teardown.status, step: teardown.step },
      });
    }
    const { final } = teardown.archive;
    const [exported, finalSnapshot] = await Promise.all([
      this.archive.describe(teardown.archive, ARCHIVE_URL_TTL_SECONDS),
      final ? this.archive.describe(final, ARCHIVE_URL_TTL_SECONDS) : null,
    ]);
    return { ...exported, final: finalSnapshot };
  }

  private seesAll(caller: Caller): boolean {
    return hasRole(caller, 'auditor') || hasRole(caller, 'approver');
  }

  private canSee(caller: Caller, teardown: Teardown): boolean {
    return this.seesAll(caller) || teardown.requestedBy === caller.name;
  }

  private assertMayChange(caller: Caller, teardown: Teardown): void {
    if (teardown.requestedBy !== caller.name && !hasRole(caller, 'admin')) {
      throw new DomainError('FORBIDDEN', 'only the requester or an admin may change this teardown');
    }
  }
}
