import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ArchiveService } from '../archive/archive.service.js';
import type { ArchiveRef, ManifestObject } from '../archive/manifest.js';
import { jsonText } from '../common/json-text.js';
import { redact, redactValue } from '../common/log-redaction.js';
import { type NewAuditEvent, SYSTEM_ACTOR } from '../audit/audit-event.js';
import { DomainError, isDomainError } from '../common/domain-error.js';
import type { JsonObject } from '../common/json.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { RequestTally } from '../dialnexa/request-tally.js';
import { LeaseKeeper } from '../jobs/lease-keeper.js';
import { type ArchivedWorkflow, RestoreCreator } from './restore-creator.js';
import { emptyLeadsTally, LEADS_CSV_ENCODER, leadFiles, type LeadsCsvEncoder } from './restore-leads.js';
import { planOf } from './restore-plan.js';
import { RESTORE_UPSTREAM, type RestoreUpstream } from './restore-upstream.js';
import {
  idMapOf,
  isRestoreRunning,
  RESTORABLE_TEARDOWNS,
  type RestorableTeardowns,
  type Restore,
  type RestoreError,
} from './restore.js';
import { RestoreLeaseLostError, RestoreRepository, type RestorePatch } from './restore.repository.js';

/** The id map's key: `{ARCHIVE_PREFIX}restores/{rst}/id-map.json`. */
export function idMapKeyOf(prefix: string, restoreId: string): string {
  return `${prefix}restores/${restoreId}/id-map.json`;
}

/**
 * Drives one restore: verifying (the archive against its manifest, before anything upstream) →
 * creating (RestoreCreator, then the id map written once under Object Lock) → completed. A dry run
 * ends after verifying, with its plan. Every write is fenced by the lease; a process that dies
 * resumes from the intent log. A retryable failure (DialNexa or S3 unavailable) goes back to the
 * queue, which retries with backoff; a restore claimed RUNNER_MAX_CLAIMS_WITHOUT_PROGRESS times
 * without progress fails with RESTORE_CRASH_LOOP. A restore that fails says what exists upstream.
 */
@Injectable()
export class RestoreRunner {
  private readonly logger = new Logger(RestoreRunner.name);
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** Aborted at shutdown: requests in flight end, and the restore is left to resume elsewhere. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly restores: RestoreRepository,
    private readonly archive: ArchiveService,
    @Inject(RESTORE_UPSTREAM) private readonly upstream: RestoreUpstream,
    @Inject(RESTORABLE_TEARDOWNS) private readonly teardowns: RestorableTeardowns,
    @Inject(LEADS_CSV_ENCODER) private readonly encode: LeadsCsvEncoder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** At shutdown: what runs now stops at its next request, its intents kept for the next claim. */
  stop(): void {
    this.stopping.abort(new Error('shutting down'));
  }

  async run(restoreId: string): Promise<void> {
    if (this.stopping.signal.aborted) throw new Error('shutting down: the job goes back to the queue');
    const claimed = await this.restores.claim(restoreId, this.workerId, this.config.runner.leaseSeconds);
    if (!claimed) return;
    const lease = new LeaseKeeper(
      this.restores,
      claimed,
      this.config.runner.leaseSeconds,
      this.logger,
      (id) => new RestoreLeaseLostError(id),
    );
    const tally = new RequestTally(claimed.upstreamRequests);
    let restore = claimed;
    try {
      if (claimed.claimsSinceProgress > this.config.runner.maxClaimsWithoutProgress) {
        const why = `restore ${restoreId} was claimed ${claimed.claimsSinceProgress - 1} times without progress`;
        // the last retryable error, if one was recorded, is most likely why
        const details = { lastError: claimed.error };
        restore = await this.fail(restore, new DomainError('RESTORE_CRASH_LOOP', why, { details }), tally);
        return;
      }
      const signal = AbortSignal.any([lease.signal, this.stopping.signal]);
      while (isRestoreRunning(restore.status) && !this.stopping.signal.aborted) {
        if (lease.lost) throw new RestoreLeaseLostError(restoreId);
        restore = await this.step(restore, signal, tally, lease);
      }
      this.logger.log(`restore ${restoreId} is ${restore.status}`);
    } catch (error) {
      // an abort (lease lost, shutdown) fails the request in flight: its intent stays open and the
      // next claim looks it up, so neither is the restore's failure
      if (error instanceof RestoreLeaseLostError || lease.lost) {
        this.logger.warn(`restore ${restoreId}: lease lost, stopping (another worker continues it)`);
        return;
      }
      if (this.stopping.signal.aborted) {
        this.logger.log(`restore ${restoreId}: interrupted by shutdown at ${restore.status}`);
        return;
      }
      const failure = asDomainError(error);
      if (failure.retryable) {
        if (!isDomainError(error))
          this.logger.warn(`restore ${restoreId}: unexpected error (${String(error)})`);
        // recorded for the caller to see; the job is retried with backoff from the intent log
        await this.restores
          .update(restore, { upstreamRequests: tally.count, error: errorOf(failure, {}) })
          .catch(() => undefined); // the lease may be gone: the next claim records it then
        throw failure;
      }
      await this.fail(restore, failure, tally);
    } finally {
      lease.stop();
      await this.restores.release(restoreId, claimed.fencingToken).catch((error: unknown) => {
        this.logger.warn(
          `restore ${restoreId}: releasing the lease failed (${String(error)}); it expires by itself`,
        );
      });
    }
  }

  private async step(
    restore: Restore,
    signal: AbortSignal,
    tally: RequestTally,
    lease: LeaseKeeper,
  ): Promise<Restore> {
    switch (restore.status) {
      case 'queued':
        return this.restores.update(restore, { status: 'verifying' });
      case 'verifying':
        return this.verify(restore);
      case 'creating':
        return this.create(restore, signal, tally, lease);
      default:
        return restore;
    }
  }

  /** The archive is checked before anything is created: a damaged one fails here, nothing upstream. */
  private async verify(restore: Restore): Promise<Restore> {
    const ref = await this.snapshotOf(restore);
    await this.archive.verify(ref);
    const archived = await this.readArchive(restore, ref);
    const tally = emptyLeadsTally();
    for await (const file of archived.leadFiles(tally)) void file; // counted, not kept
    const plan = planOf(ref, archived, tally, this.upstream.knownRateLimit());
    if (!restore.dryRun) return this.restores.update(restore, { status: 'creating', plan, progressed: true });
    return this.restores.update(restore, { status: 'completed', plan, completedAt: new Date() }, [
      this.event(restore, 'restore.completed', { dryRun: true, plan }),
    ]);
  }

  private async create(
    restore: Restore,
    signal: AbortSignal,
    tally: RequestTally,
    lease: LeaseKeeper,
  ): Promise<Restore> {
    const ref = await this.snapshotOf(restore);
    // only the manifest verifying checked (its objects pinned by version) is read to create from
    const plan = restore.plan;
    if (!plan || plan.manifestKey !== ref.manifestKey || plan.manifestSha256 !== ref.manifestSha256) {
      throw new DomainError(
        'ARCHIVE_VERIFICATION_FAILED',
        `the ${restore.snapshot} snapshot of teardown ${restore.teardownId} is not the one this restore verified`,
        { details: { verified: plan?.manifestSha256 ?? null, now: ref.manifestSha256 } },
      );
    }
    const archived = await this.readArchive(restore, ref);
    // the lease is asked for right before each create leaves: a runner another worker took over
    // (before its renewal told it) sends nothing more
    const creator = new RestoreCreator(this.upstream, this.restores.itemLog(restore), {
      signal,
      tally,
      beforeSend: () => lease.fence.check(),
    });
    const newWorkflowId = await creator.createAll(archived);
    const idMap = idMapOf(restore.sourceWorkflowId, await this.restores.items(restore.id));
    const key = idMapKeyOf(this.config.archive.prefix, restore.id);
    const body = Buffer.from(
      `${jsonText({ restoreId: restore.id, teardownId: restore.teardownId, manifestKey: ref.manifestKey, newWorkflowId, idMap }, 2)}\n`,
      'utf8',
    );
    await this.archive.writeOnceLocked(key, body, (stored) => {
      const parsed = JSON.parse(stored.toString('utf8')) as { restoreId?: unknown };
      return parsed.restoreId === restore.id ? null : 'it names another restore';
    });
    const patch: RestorePatch = {
      status: 'completed',
      newWorkflowId,
      idMapKey: key,
      upstreamRequests: tally.count,
      error: null,
      completedAt: new Date(),
    };
    return this.restores.update(restore, patch, [
      this.event(restore, 'restore.completed', {
        newWorkflowId,
        idMapKey: key,
        upstreamRequests: tally.count,
      }),
    ]);
  }

  private async fail(restore: Restore, error: unknown, tally: RequestTally): Promise<Restore> {
    const items = await this.restores.items(restore.id);
    const created = items.filter((i) => i.newId !== null);
    // what exists upstream, exactly: the restore cannot finish, so whoever cleans up starts here
    const upstream = {
      workflowId: created.find((i) => i.kind === 'workflow')?.newId ?? null,
      nodes: created.filter((i) => i.kind === 'node').length,
      edges: created.filter((i) => i.kind === 'edge').length,
      leads: created.reduce((n, i) => n + Object.keys(i.leads ?? {}).length, 0),
      unconfirmed: items.filter((i) => i.newId === null).map((i) => `${i.kind} ${i.oldId}`),
    };
    const failure = errorOf(error, { createdUpstream: upstream });
    this.logger.warn(`restore ${restore.id} failed: ${failure.code}`);
    return this.restores.update(
      restore,
      { status: 'failed', error: failure, upstreamRequests: tally.count, completedAt: new Date() },
      [
        this.event(restore, 'restore.failed', {
          error: failure.code,
          message: failure.message,
          createdUpstream: upstream,
        }),
      ],
    );
  }

  private async snapshotOf(restore: Restore): Promise<ArchiveRef> {
    const teardown = await this.teardowns.findById(restore.teardownId);
    const ref = restore.snapshot === 'final' ? teardown?.archive?.final : teardown?.archive;
    if (!ref) {
      throw new DomainError(
        'RESTORE_SNAPSHOT_MISSING',
        `teardown ${restore.teardownId} has no ${restore.snapshot} snapshot`,
      );
    }
    return ref;
  }

  private async readArchive(restore: Restore, ref: ArchiveRef): Promise<ArchivedWorkflow> {
    const object = (name: string): ManifestObject => {
      const found = ref.objects.find((o) => o.key.endsWith(`/${name}`));
      if (!found) throw new DomainError('ARCHIVE_VERIFICATION_FAILED', `the archive has no ${name}`);
      return found;
    };
    const all = async (name: string) => {
      const records: JsonObject[] = [];
      for await (const record of this.archive.readRecords(object(name))) records.push(record);
      return records;
    };
    const [workflow] = await all('workflow.json');
    const leads = object('leads.ndjson.gz');
    const description = workflow?.['description'];
    return {
      restoreId: restore.id,
      teardownId: restore.teardownId,
      workflow: {
        title: titleOf(workflow) ?? restore.sourceWorkflowId,
        description: typeof description === 'string' ? description : null,
      },
      nodes: await all('nodes.json'),
      edges: await all('edges.json'),
      leadFiles: (tally = emptyLeadsTally()) =>
        leadFiles(this.archive.readRecords(leads), restore.excludeLeadStatuses, this.encode, tally),
    };
  }

  private event(
    restore: Restore,
    type: NewAuditEvent['type'],
    details: Record<string, unknown>,
  ): NewAuditEvent {
    return {
      actor: SYSTEM_ACTOR,
      teardownId: restore.teardownId,
      workflowId: restore.sourceWorkflowId,
      type,
      details: { restoreId: restore.id, ...details },
    };
  }
}

/** DialNexa serves `title` and its older twin `name`: the first that is text names the draft. */
function titleOf(workflow: JsonObject | undefined): string | null {
  for (const field of ['title', 'name']) {
    const value = workflow?.[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
}

/**
 * Unknown errors (a database hiccup, a bug) are retried like an outage: the intent log makes a
 * resume safe, and RESTORE_CRASH_LOOP bounds it. Their message stays in the logs.
 */
function asDomainError(error: unknown): DomainError {
  if (isDomainError(error)) return error;
  return new DomainError('INTERNAL_ERROR', 'an unexpected error stopped the restore', {
    retryable: true,
    cause: error,
  });
}

function errorOf(error: unknown, details: Record<string, unknown>): RestoreError {
  if (isDomainError(error)) {
    // DialNexa's own words (a refused lead upload may quote a row) may name a lead's phone
    // number: the restore's error and its audit event keep them redacted, like every log line
    const upstream = error.code.startsWith('UPSTREAM_');
    return {
      code: error.code,
      message: upstream ? redact(error.message) : error.message,
      retryable: error.retryable,
      details: {
        ...(upstream ? (redactValue(error.details) as Record<string, unknown>) : error.details),
        ...details,
      },
    };
  }
  return { code: 'INTERNAL_ERROR', message: 'the restore failed unexpectedly', retryable: false, details };
}
