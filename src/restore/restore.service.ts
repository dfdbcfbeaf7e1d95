import { Inject, Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller.js';
import { DomainError } from '../common/domain-error.js';
import { requestHashOf } from '../db/idempotency.repository.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import {
  type CreateRestoreDto,
  DEFAULT_EXCLUDED_LEAD_STATUSES,
  type ListRestoresDto,
} from './restore.dto.js';
import { RESTORABLE_TEARDOWNS, type RestorableTeardowns, type Restore, type RestoreItem } from './restore.js';
import { RestoreRepository } from './restore.repository.js';

/** The restore use cases behind the REST API. */
@Injectable()
export class RestoreService {
  constructor(
    private readonly restores: RestoreRepository,
    private readonly queue: JobQueueService,
    @Inject(RESTORABLE_TEARDOWNS) private readonly teardowns: RestorableTeardowns,
  ) {}

  async create(
    caller: Caller,
    dto: CreateRestoreDto,
    idempotencyKey: string | undefined,
  ): Promise<{ restore: Restore; replayed: boolean }> {
    const teardown = await this.teardowns.findById(dto.teardownId);
    if (!teardown) throw new DomainError('TEARDOWN_NOT_FOUND', `teardown ${dto.teardownId} does not exist`);
    if (teardown.status !== 'completed' || teardown.dryRun || !teardown.archive) {
      const why = teardown.dryRun ? 'it was a dry run, which deletes nothing' : `it is ${teardown.status}`;
      throw new DomainError(
        'TEARDOWN_NOT_RESTORABLE',
        `teardown ${teardown.id} cannot be restored: only a completed deletion with an archive can (${why})`,
        { details: { status: teardown.status, dryRun: teardown.dryRun } },
      );
    }
    const snapshot = dto.snapshot ?? (teardown.archive.final ? 'final' : 'export');
    if (snapshot === 'final' && !teardown.archive.final) {
      throw new DomainError('RESTORE_SNAPSHOT_MISSING', `teardown ${teardown.id} has no final snapshot`);
    }
    const claim = idempotencyKey
      ? { caller: caller.name, key: idempotencyKey, requestHash: requestHashOf(dto, 'POST /v1/restores') }
      : null;
    const outcome = await this.restores.create(
      {
        teardownId: teardown.id,
        sourceWorkflowId: teardown.workflowId,
        snapshot,
        reason: dto.reason,
        dryRun: dto.dryRun ?? false,
        excludeLeadStatuses: dto.excludeLeadStatuses ?? DEFAULT_EXCLUDED_LEAD_STATUSES,
        requestedBy: caller.name,
      },
      claim,
    );
    switch (outcome.kind) {
      case 'key_reused':
        throw new DomainError(
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was used with a different request in the last 24 hours',
          { details: { resourceId: outcome.resourceId } },
        );
      case 'replayed':
        return { restore: outcome.restore, replayed: true };
      case 'created':
        await this.queue.offerRestore(outcome.restore.id);
        return { restore: outcome.restore, replayed: false };
    }
  }

  async get(id: string): Promise<{ restore: Restore; items: RestoreItem[] }> {
    const restore = await this.restores.findById(id);
    if (!restore) throw new DomainError('RESTORE_NOT_FOUND', `restore ${id} does not exist`);
    return { restore, items: await this.restores.items(id) };
  }

  async list(query: ListRestoresDto): Promise<{ restore: Restore; items: RestoreItem[] }[]> {
    const restores = await this.restores.listByTeardown(query.teardownId, query.limit);
    return Promise.all(
      restores.map(async (restore) => ({ restore, items: await this.restores.items(restore.id) })),
    );
  }
}
