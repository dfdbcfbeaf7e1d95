import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArchiveService, type WriteFence } from '../archive/archive.service.js';
import type { ArchiveRef } from '../archive/manifest.js';
import { AuditAnchorService } from '../audit/audit-anchor.service.js';
import { ReceiptService } from '../receipts/receipt.service.js';
import { type NewAuditEvent, SYSTEM_ACTOR } from '../audit/audit-event.js';
import { DomainError, isDomainError } from '../common/domain-error.js';
import type { JsonObject } from '../common/json.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import { METRICS, NO_METRICS, type TeardownMetrics } from '../ops/metrics.port.js';
import { DestructiveCallGate } from './destructive-call.gate.js';
import { LeadCollector, resumableLeads } from './lead-collector.js';
import { LeaseKeeper } from '../jobs/lease-keeper.js';
import { ProgressReporter } from './progress-reporter.js';
import { SettleWaiter } from './settle-waiter.js';
import { UpstreamProgress } from './upstream-progress.js';
import { isRunning, type Teardown, type TeardownStep } from './teardown.js';
import {
  LeaseLostError,
  TeardownRepository,
  TeardownStoppedError,
  type TeardownPatch,
} from './teardown.repository.js';
import { stateOf, transition, type TeardownState } from './teardown-state.js';

/**
 * Drives one teardown through its steps: export → verify → audit → cancel → finalize → delete.
 *
 * Each step is idempotent and commits its result before the next begins, so a process that dies
 * anywhere resumes at the last unfinished step. Every write is fenced by the lease token: a runner
 * that lost its lease can neither record progress nor send anything upstream.
 */
@Injectable()
export class TeardownRunner {
  private readonly logger = new Logger(TeardownRunner.name);
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** Aborted at shutdown: waits end at once, and a step interrupted then is not recorded as failed. */
  private readonly stopping = new AbortController();
  private readonly metrics: TeardownMetrics;
  /** The upstream work of each teardown this process runs: its requests, counted, and the estimate. */
  private readonly upstream = new Map<string, UpstreamProgress>();

  constructor(
    private readonly teardowns: TeardownRepository,
    private readonly dialnexa: DialnexaClient,
    private readonly archive: ArchiveService,
    private readonly anchors: AuditAnchorService,
    private readonly gate: DestructiveCallGate,
    private readonly receipts: ReceiptService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(METRICS) metrics: TeardownMetrics | null = null,
  ) {
    this.metrics = metrics ?? NO_METRICS;
  }

  /**
   * Runs the teardown until it ends or must wait. Resolves quietly when another worker holds it;
   * rejects only when the database is unreachable, so that the job is retried.
   */
  async run(teardownId: string): Promise<void> {
    if (this.stopping.signal.aborted) throw new Error('shutting down: the job goes back to the queue');
    const claimed = await this.teardowns.claim(teardownId, this.workerId, this.config.runner.leaseSeconds);
    if (!claimed) return;
    const lease = new LeaseKeeper(
      this.teardowns,
      claimed,
      this.config.runner.leaseSeconds,
      this.logger,
      (id) => new LeaseLostError(id),
    );
    this.upstream.set(teardownId, new UpstreamProgress(claimed, () => this.dialnexa.knownRateLimit()));
    let teardown = claimed;
    try {
      // Started first: a teardown still queued cannot fail (the crash loop below may be one whose
      // process died between its claim and this write).
      if (teardown.status === 'queued') {
        teardown = await this.teardowns.update(
          teardown,
          { status: next(teardown, { type: 'started' }).status },
          [],
          'queued',
        );
      }
      if (claimed.claimsSinceProgress > this.config.runner.maxClaimsWithoutProgress) {
        // Each of the last claims ended without finishing a step, most likely because the step
        // kills the process (out of memory, a crash): stop instead of claiming it for ever.
        teardown = await this.fail(
          teardown,
          teardown.step,
          new DomainError(
            'TEARDOWN_CRASH_LOOP',
            `teardown ${teardownId} was claimed ${claimed.claimsSinceProgress - 1} times without finishing its ${teardown.step} step`,
            { retryable: true, details: { claims: claimed.claimsSinceProgress - 1 } },
          ),
        );
        return;
      }
      while (isRunning(teardown.status) && !this.stopping.signal.aborted) {
        if (lease.lost) throw new LeaseLostError(teardownId);
        teardown = await this.runStep(teardown, lease);
      }
      this.logger.log(`teardown ${teardown.id} is ${teardown.status}`);
      if (teardown.status === 'completed' || teardown.status === 'failed') {
        this.metrics.teardownEnded(teardown.status, teardown.dryRun);
      }
      if (!isRunning(teardown.status)) {
        // Each ended teardown anchors the chain head in the bucket (never fails the teardown).
        void this.anchors.anchorNow(`teardown ${teardown.id} ${teardown.status}`);
        this.afterEnd(teardown);
      }
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.logger.warn(`teardown ${teardownId}: lease lost, stopping (another worker continues it)`);
        return;
      }
      if (error instanceof TeardownStoppedError) {
        this.logger.log(`teardown ${teardownId} became ${error.current.status}; stopping`);
        return;
      }
      if (this.stopping.signal.aborted) {
        // the lease is released below: another replica resumes the teardown from its last step
        this.logger.log(`teardown ${teardownId}: interrupted by shutdown at ${teardown.step}`);
        return;
      }
      throw error;
    } finally {
      this.upstream.delete(teardownId);
      lease.stop();
      await this.teardowns.release(teardownId, claimed.fencingToken).catch((error: unknown) => {
        this.logger.warn(
          `teardown ${teardownId}: releasing the lease failed (${String(error)}); it expires by itself`,
        );
      });
    }
  }

  /**
   * After the end: a completed deletion gets its signed receipt, once the anchor above covers its
   * events (the receipt names it). Not awaited and never failing the teardown: a read of the
   * receipt issues it when this did not.
   */
  private afterEnd(teardown: Teardown): void {
    void this.receipts.issueQuietly(teardown);
  }

  /** Stops taking new steps; waits in progress end at once. Called before the process exits. */
  stop(): void {
    this.stopping.abort(new Error('shutting down'));
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopping.signal });
  }

  /** Runs the current step, retrying a retryable failure a few times before recording it. */
  private async runStep(teardown: Teardown, lease: LeaseKeeper): Promise<Teardown> {
    const step = teardown.step;
    const { stepAttempts, stepBackoffMs } = this.config.runner;
    for (let attempt = 1; ; attempt += 1) {
      const timing: StepTiming = { started: performance.now(), settleSeconds: 0 };
      try {
        this.logger.log(`teardown ${teardown.id}: step ${step} (attempt ${attempt})`);
        const after = await this.stepFunction(step, lease, timing)(teardown);
        this.measure(step, 'ok', timing);
        return after;
      } catch (error) {
        this.measure(step, 'error', timing);
        if (error instanceof LeaseLostError || error instanceof TeardownStoppedError) throw error;
        if (lease.lost) throw new LeaseLostError(teardown.id); // its requests were aborted
        if (this.stopping.signal.aborted) throw error;
        const failure = asDomainError(error);
        // a hold is lifted by a person, not by waiting: it fails the step at once (retryable later)
        if (failure.retryable && failure.code !== 'WORKFLOW_ON_HOLD' && attempt < stepAttempts) {
          this.logger.warn(`teardown ${teardown.id}: step ${step} failed (${failure.code}), retrying`);
          await this.pause(stepBackoffMs * 2 ** (attempt - 1));
          // Re-read what may have changed meanwhile (an abort), but never adopt another worker's
          // token: a row whose token moved on belongs to the worker that claimed it since.
          const fresh = await this.teardowns.findById(teardown.id);
          if (!fresh || fresh.fencingToken !== teardown.fencingToken) throw new LeaseLostError(teardown.id);
          if (fresh.status === 'aborted') throw new TeardownStoppedError(fresh);
          teardown = fresh;
          continue;
        }
        return this.fail(teardown, step, failure);
      }
    }
  }

  /** A step's time, without the settle wait inside `finalize`, which is measured on its own. */
  private measure(step: TeardownStep, outcome: 'ok' | 'error', timing: StepTiming): void {
    const seconds = (performance.now() - timing.started) / 1000 - timing.settleSeconds;
    this.metrics.stepFinished(step, outcome, Math.max(0, seconds));
  }

  private stepFunction(
    step: TeardownStep,
    lease: LeaseKeeper,
    timing: StepTiming,
  ): (teardown: Teardown) => Promise<Teardown> {
    switch (step) {
      case 'export':
        return (t) => this.exportArchive(t, lease.fence, this.sendSignal(lease));
      case 'verify':
        return (t) => this.verifyArchive(t);
      case 'audit':
        return (t) => this.commitArchiveEvent(t);
      case 'cancel':
        return (t) => this.cancelWorkflow(t, this.sendSignal(lease));
      case 'finalize':
        return (t) => this.finalizeArchive(t, lease.fence, this.sendSignal(lease), timing);
      case 'delete':
        return (t) => this.deleteWorkflow(t, this.sendSignal(lease));
    }
  }

  /** Step 1: the workflow, its nodes, edges and every lead, streamed into the archive. */
  private async exportArchive(teardown: Teardown, fence: WriteFence, signal: AbortSignal): Promise<Teardown> {
    const target = { teardownId: teardown.id, workflowId: teardown.workflowId };
    let archive = await this.archive.findExisting(target);
    let totalReported: number | null = null;
    if (!archive) {
      const workflowId = teardown.workflowId;
      const upstream = this.upstreamOf(teardown);
      const tally = upstream.tally;
      const workflow = await this.dialnexa.getWorkflow(workflowId, { signal, tally });
      const nodes = await this.dialnexa.listAll(workflowId, 'nodes', { signal, tally });
      const edges = await this.dialnexa.listAll(workflowId, 'edges', { signal, tally });
      let collector: LeadCollector | null = null;
      const progress = new ProgressReporter(
        this.teardowns,
        teardown,
        () => collector?.totalReported ?? null,
        upstream,
      );
      const open = resumableLeads(
        (firstPage) => this.dialnexa.pages(workflowId, 'leads', { signal, tally, firstPage }),
        (listing) => (collector = listing),
        (pages) => progress.guard(pages),
      );
      try {
        archive = await this.archive.export(
          target,
          {
            workflow,
            nodes: nodes.items,
            edges: edges.items,
            resumable: { open, checkpoints: this.teardowns.leadsCheckpoints(teardown) },
            leadsTotalReported: () => collector?.totalReported ?? null,
            leadHistory: teardown.includeLeadHistory ? this.leadHistories(teardown, signal) : undefined,
          },
          (exported) => progress.report(exported),
          'export',
          null,
          fence,
        );
      } finally {
        await progress.stop();
      }
      this.metrics.archiveWritten('export', archiveBytes(archive), archive.counts.leads);
      totalReported = (collector as LeadCollector | null)?.totalReported ?? null;
      const duplicates = (collector as LeadCollector | null)?.duplicates ?? 0;
      if (duplicates > 0) {
        this.logger.log(`teardown ${teardown.id}: ${duplicates} leads listed twice were archived once`);
      }
    }
    // The progress reporter's writes may all have failed, or never run (an archive adopted from an
    // earlier claim): the step's end records the figures, DialNexa's count when the export read one.
    const leadsTotal = totalReported ?? teardown.leadsTotal ?? archive.counts.leads;
    return this.advance(teardown, 'export', { archive, leadsExported: archive.counts.leads, leadsTotal });
  }

  /** Step 2: every object read back and checked against the manifest. */
  private async verifyArchive(teardown: Teardown): Promise<Teardown> {
    const verified = await this.archive.verify(requireArchive(teardown));
    return this.advance(teardown, 'verify', { archive: verified });
  }

  /**
   * Step 3: `archive.exported` committed. Until this commit nothing may be sent upstream that
   * changes the workflow; DestructiveCallGate enforces it.
   */
  private async commitArchiveEvent(teardown: Teardown): Promise<Teardown> {
    const archive = requireArchive(teardown);
    if (!archive.verifiedAt)
      throw new DomainError('INTERNAL_ERROR', `the archive of ${teardown.id} was never verified`);
    const events: NewAuditEvent[] = [this.event(teardown, 'archive.exported', archiveDetails(archive))];
    const after = next(teardown, { type: 'step_succeeded', step: 'audit' });
    if (after.status === 'completed')
      events.push(this.event(teardown, 'teardown.completed', { dryRun: teardown.dryRun }));
    return this.advance(teardown, 'audit', {}, events);
  }

  /** Step 4: the cancel, through the gate; a 409 (already cancelled or completed) is success. */
  private async cancelWorkflow(teardown: Teardown, signal: AbortSignal): Promise<Teardown> {
    const sent = await this.gate.cancel(teardown, signal, this.upstreamOf(teardown).tally);
    if (!sent.ok) throw goneIfNotFound(sent.error, 'cancel');
    const now = new Date();
    return this.advance(sent.teardown, 'cancel', { cancelledAt: now, deleteWaitStartedAt: now }, [
      this.event(sent.teardown, 'workflow.cancelled', { outcome: sent.value }),
    ]);
  }

  /** Lease lost or shutdown: what the gate's requests are aborted by. */
  private sendSignal(lease: LeaseKeeper): AbortSignal {
    return AbortSignal.any([lease.signal, this.stopping.signal]);
  }

  /**
   * Step 5: once the leads in transit at the cancel have settled, the final state of the workflow
   * and its leads is archived under `final/`, verified and audited (`archive.finalized`), so the
   * archive describes what the delete removes, not only what the export saw.
   */
  private async finalizeArchive(
    teardown: Teardown,
    fence: WriteFence,
    signal: AbortSignal,
    timing: StepTiming,
  ): Promise<Teardown> {
    const archive = requireArchive(teardown);
    const target = { teardownId: teardown.id, workflowId: teardown.workflowId };
    let final = archive.final ?? (await this.archive.findExisting(target, 'final'));
    if (!final) {
      const tally = this.upstreamOf(teardown).tally;
      const settleStarted = performance.now();
      let settled: 'ok' | 'error' = 'error';
      try {
        await new SettleWaiter(this.dialnexa, this.config.runner, (ms) => this.pause(ms)).wait(teardown, {
          signal,
          tally,
        });
        settled = 'ok';
      } finally {
        timing.settleSeconds = (performance.now() - settleStarted) / 1000;
        this.metrics.stepFinished('settle', settled, timing.settleSeconds);
      }
      const workflowId = teardown.workflowId;
      const workflow = await this.dialnexa.getWorkflow(workflowId, { signal, tally });
      const nodes = await this.dialnexa.listAll(workflowId, 'nodes', { signal, tally });
      const edges = await this.dialnexa.listAll(workflowId, 'edges', { signal, tally });
      const collector = new LeadCollector(this.dialnexa.pages(workflowId, 'leads', { signal, tally }));
      final = await this.archive.export(
        target,
        {
          workflow,
          nodes: nodes.items,
          edges: edges.items,
          leads: collector.leads(),
          leadsTotalReported: () => collector.totalReported,
        },
        () => {},
        'final',
        archive,
        fence,
      );
      this.metrics.archiveWritten('final', archiveBytes(final), final.counts.leads);
    }
    if (!archive.final) teardown = await this.teardowns.update(teardown, { archive: { ...archive, final } });
    if (!final.verifiedAt) final = await this.archive.verify(final);
    const manifest = await this.archive.readManifest(final);
    return this.advance(teardown, 'finalize', { archive: { ...archive, final } }, [
      this.event(teardown, 'archive.finalized', {
        ...archiveDetails(final),
        changedSinceExport: manifest.changedSinceExport ?? [],
      }),
    ]);
  }

  /** Step 6: the delete, through the gate, retried while DialNexa still sees leads in transit (409), within DELETE_SETTLE_TIMEOUT_S. */
  private async deleteWorkflow(teardown: Teardown, signal: AbortSignal): Promise<Teardown> {
    const { deleteSettleTimeoutS, deleteBackoffBaseMs, deleteBackoffMaxMs, stepAttempts } =
      this.config.runner;
    if (!teardown.deleteWaitStartedAt) {
      teardown = await this.teardowns.update(teardown, { deleteWaitStartedAt: new Date() });
    }
    const waitStarted = teardown.deleteWaitStartedAt!.getTime();
    let conflicts = 0;
    let transientFailures = 0;
    for (;;) {
      const sent = await this.gate.delete(teardown, signal, this.upstreamOf(teardown).tally);
      teardown = sent.teardown;
      if (sent.ok) return this.completeDeletion(teardown, 'deleted');
      const failure = sent.error;
      if (failure.code === 'WORKFLOW_NOT_FOUND') {
        // Proof of our deletion only if an earlier DELETE of ours may have been performed.
        if (sent.earlierDeleteUnanswered)
          return this.completeDeletion(teardown, 'confirmed_by_404_after_unanswered_delete');
        throw goneIfNotFound(failure, 'delete');
      }
      if (failure.code === 'UPSTREAM_CONFLICT') {
        conflicts += 1; // the gate cleared deletePending: a 409 was not performed
      } else if (failure.retryable && transientFailures + 1 < stepAttempts) {
        transientFailures += 1; // no answer, or a 5xx: the outcome is unknown, deletePending stays set
      } else {
        throw failure;
      }
      const waited = Date.now() - waitStarted;
      if (waited >= deleteSettleTimeoutS * 1000) {
        throw new DomainError(
          'DELETE_SETTLE_TIMEOUT',
          `leads were still in transit after ${Math.round(waited / 1000)} s (${conflicts} answers 409)`,
          { retryable: true, details: { conflicts } },
        );
      }
      const backoff = Math.min(
        deleteBackoffMaxMs,
        deleteBackoffBaseMs * 2 ** Math.min(conflicts + transientFailures, 16),
      );
      await this.pause(
        Math.min(backoff / 2 + Math.random() * (backoff / 2), deleteSettleTimeoutS * 1000 - waited + 1),
      );
    }
  }

  private async completeDeletion(teardown: Teardown, confirmation: string): Promise<Teardown> {
    const now = new Date();
    return this.advance(teardown, 'delete', { deletedAt: now, deletePending: false, completedAt: now }, [
      this.event(teardown, 'workflow.deleted', { confirmation, deleteAttempts: teardown.deleteAttempts }),
      this.event(teardown, 'teardown.completed', {
        dryRun: false,
        archive: teardown.archive?.manifestKey ?? null,
      }),
    ]);
  }

  private async *leadHistories(teardown: Teardown, signal: AbortSignal): AsyncGenerator<JsonObject> {
    const upstream = this.upstreamOf(teardown);
    const tally = upstream.tally;
    for await (const page of this.dialnexa.pages(teardown.workflowId, 'leads', { signal, tally })) {
      for (const lead of page.items) {
        if (typeof lead['id'] === 'string') {
          yield await this.dialnexa.getLeadHistory(teardown.workflowId, lead['id'], { signal, tally });
          upstream.historiesExported += 1;
        }
      }
    }
  }

  /** This claim's upstream work on the teardown (a step runs only within its claim). */
  private upstreamOf(teardown: Teardown): UpstreamProgress {
    let upstream = this.upstream.get(teardown.id);
    if (!upstream) {
      upstream = new UpstreamProgress(teardown, () => this.dialnexa.knownRateLimit());
      this.upstream.set(teardown.id, upstream);
    }
    return upstream;
  }

  private async advance(
    teardown: Teardown,
    step: TeardownStep,
    patch: TeardownPatch,
    events: NewAuditEvent[] = [],
  ): Promise<Teardown> {
    const after = next(teardown, { type: 'step_succeeded', step });
    const completedAt = after.status === 'completed' ? (patch.completedAt ?? new Date()) : undefined;
    const leads = patch.archive?.counts.leads ?? teardown.archive?.counts.leads ?? null;
    const counted = this.upstreamOf(teardown).patch(teardown, after.step, {
      exported: patch.leadsExported ?? teardown.leadsExported,
      total: teardown.leadsTotal ?? leads,
    });
    const done = after.status === 'completed' ? { requestsLeft: 0, secondsLeft: 0 } : {};
    const estimate = counted.estimate ? { ...counted.estimate, ...done } : null;
    return this.teardowns.update(
      teardown,
      { ...patch, ...counted, estimate, status: after.status, step: after.step, completedAt },
      events,
    );
  }

  private async fail(teardown: Teardown, step: TeardownStep, failure: DomainError): Promise<Teardown> {
    const error = { code: failure.code, message: failure.message, retryable: failure.retryable };
    const after = next(teardown, { type: 'step_failed', step, error });
    this.logger.warn(`teardown ${teardown.id} failed at ${step}: ${failure.code} ${failure.message}`);
    const upstreamRequests = this.upstreamOf(teardown).tally.count;
    return this.teardowns.update(teardown, { status: after.status, error: after.error, upstreamRequests }, [
      this.event(teardown, 'teardown.failed', { ...error, step }),
    ]);
  }

  private event(
    teardown: Teardown,
    type: NewAuditEvent['type'],
    details: Record<string, unknown>,
  ): NewAuditEvent {
    return { actor: SYSTEM_ACTOR, teardownId: teardown.id, workflowId: teardown.workflowId, type, details };
  }
}

/** One attempt of a step: when it began, and how long of it was the settle wait (finalize only). */
interface StepTiming {
  started: number;
  settleSeconds: number;
}

function next(teardown: Teardown, event: Parameters<typeof transition>[1]): TeardownState {
  return transition(stateOf(teardown), event);
}

function requireArchive(teardown: Teardown): ArchiveRef {
  if (!teardown.archive) throw new DomainError('INTERNAL_ERROR', `teardown ${teardown.id} has no archive`);
  return teardown.archive;
}

function archiveBytes(archive: ArchiveRef): number {
  return archive.objects.reduce((sum, object) => sum + object.bytes, 0);
}

function archiveDetails(archive: ArchiveRef): Record<string, unknown> {
  return {
    bucket: archive.bucket,
    manifestKey: archive.manifestKey,
    manifestSha256: archive.manifestSha256,
    manifestVersionId: archive.manifestVersionId,
    versionIds: Object.fromEntries(archive.objects.map((o) => [o.key, o.versionId])),
    counts: archive.counts,
    verifiedAt: archive.verifiedAt,
  };
}

function goneIfNotFound(error: unknown, during: 'cancel' | 'delete'): unknown {
  if (isDomainError(error) && error.code === 'WORKFLOW_NOT_FOUND') {
    return new DomainError(
      'WORKFLOW_GONE',
      `DialNexa no longer has the workflow at the ${during}, and this teardown had not deleted it: it was removed by someone else after the export`,
      { retryable: false, cause: error },
    );
  }
  return error;
}

function asDomainError(error: unknown): DomainError {
  if (isDomainError(error)) return error;
  // Unknown errors are reported with a neutral message; the cause stays in the logs.
  return new DomainError('INTERNAL_ERROR', 'an unexpected error stopped the step', {
    retryable: true,
    cause: error,
  });
}
