import { Inject, Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Caller } from '../auth/caller.js';
import { DomainError } from '../common/domain-error.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import type { Teardown } from '../teardown/teardown.js';
import { type Approval, APPROVAL_SUBJECTS, type ApprovalSubjects, type Decision } from './approval.js';
import { ApprovalRepository } from './approval.repository.js';
import { decide, expire, overdueBefore } from './approval.rules.js';

/** Teardowns expired per sweep; the next sweep takes the rest. */
const EXPIRY_BATCH = 100;

/**
 * Four-eyes approval (APPROVALS_REQUIRED, APPROVAL_TTL_HOURS). A decision spans three modules'
 * tables: the approval row (ApprovalRepository), the teardown's status (the ApprovalSubjects port,
 * implemented by the teardown module) and the audit event (AuditRepository). They are written in
 * one UnitOfWork, so they commit together or not at all, and each table keeps its one repository;
 * what crosses between the modules is an opaque Transaction, never a Prisma type.
 */
@Injectable()
export class ApprovalService {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    @Inject(APPROVAL_SUBJECTS) private readonly subjects: ApprovalSubjects,
    private readonly approvals: ApprovalRepository,
    private readonly audit: AuditRepository,
    private readonly queue: JobQueueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The teardown after the decision, with every decision on it so far. */
  async decide(
    caller: Caller,
    teardownId: string,
    decision: Decision,
    comment: string | null,
  ): Promise<{ teardown: Teardown; approvals: Approval[] }> {
    const ttlHours = this.config.approvalTtlHours;
    const request = { approver: caller.name, decision, comment, at: new Date() };
    const outcome = await this.unitOfWork.run(async (tx) => {
      const subject = await this.subjects.lockForDecision(tx, teardownId);
      if (!subject) throw new DomainError('TEARDOWN_NOT_FOUND', `teardown ${teardownId} does not exist`);
      const previous = await this.approvals.decisionsOn(tx, teardownId);
      const ruling = decide(subject, previous, request, ttlHours);
      const approvals =
        ruling.kind === 'recorded'
          ? [...previous, await this.approvals.record(tx, teardownId, ruling.approval)]
          : previous;
      const teardown = await this.subjects.applyDecision(tx, teardownId, ruling.status);
      await this.audit.appendWithin(tx, [ruling.event]);
      return { ruling, teardown, approvals };
    });
    // The expiry is committed before the caller hears of it: the teardown is rejected either way.
    if (outcome.ruling.kind === 'expired') {
      throw new DomainError(
        'APPROVAL_EXPIRED',
        `teardown ${teardownId} waited for approval longer than ${ttlHours} hours and was rejected as expired`,
        { details: { status: outcome.teardown.status } },
      );
    }
    if (outcome.teardown.status === 'queued') await this.queue.offer(teardownId);
    return { teardown: outcome.teardown, approvals: outcome.approvals };
  }

  /** Each teardown's decisions, for the teardown resource's `approvals`. */
  async of(teardownIds: readonly string[]): Promise<Map<string, Approval[]>> {
    return this.approvals.ofTeardowns(teardownIds);
  }

  /**
   * Rejects, as the system, teardowns that waited for approval longer than APPROVAL_TTL_HOURS
   * (the sweeper's part; a decision also expires an overdue teardown itself). Returns their ids.
   */
  async expireOverdue(now: Date = new Date()): Promise<string[]> {
    const ttlHours = this.config.approvalTtlHours;
    const overdue = await this.subjects.awaitingApprovalRequestedBefore(
      overdueBefore(now, ttlHours),
      EXPIRY_BATCH,
    );
    const expired: string[] = [];
    for (const id of overdue) {
      const done = await this.unitOfWork.run(async (tx) => {
        const subject = await this.subjects.lockForDecision(tx, id);
        const ruling = subject && expire(subject, now, ttlHours);
        if (!ruling) return false; // decided meanwhile
        await this.subjects.applyDecision(tx, id, ruling.status);
        await this.audit.appendWithin(tx, [ruling.event]);
        return true;
      });
      if (done) expired.push(id);
    }
    return expired;
  }
}
