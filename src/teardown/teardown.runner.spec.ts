import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { AuditAnchorService } from '../audit/audit-anchor.service.js';
import type { AuditEventType } from '../audit/audit-event.js';
import { DomainError } from '../common/domain-error.js';
import type { TeardownMetrics } from '../ops/metrics.port.js';
import { DestructiveCallGate } from './destructive-call.gate.js';
import type { Teardown } from './teardown.js';
import type { ReceiptService } from '../receipts/receipt.service.js';
import { TeardownRunner } from './teardown.runner.js';
import { FakeArchiveService } from './testing/archive-service.fake.js';
import { FakeDialnexaClient } from './testing/dialnexa-client.fake.js';
import { FakeTeardownRepository } from './testing/teardown-repository.fake.js';
import {
  buildArchiveRef,
  buildConfig,
  buildResumedTeardown,
  buildTeardown,
  TEARDOWN_ID,
  WORKFLOW_ID,
} from './testing/teardown.factories.js';

interface BuildOptions {
  teardown?: Teardown;
  /** Audit events an earlier worker committed for the teardown. */
  committed?: AuditEventType[];
  env?: Record<string, string>;
}

/** The runner with the real gate, lease keeper, progress reporter and settle wait, over fakes. */
function build({ teardown = buildTeardown(), committed = [], env = {} }: BuildOptions = {}) {
  const config = buildConfig(env);
  const timeline: string[] = [];
  const repo = new FakeTeardownRepository(timeline).seed(teardown, committed);
  const dialnexa = new FakeDialnexaClient(config.dialnexa.maxAttempts, timeline);
  const archive = new FakeArchiveService();
  const anchors = { anchorNow: jest.fn(() => Promise.resolve()) };
  const receipts = { issueQuietly: jest.fn((_teardown: { status: string }) => Promise.resolve()) };
  const gate = new DestructiveCallGate(repo.asRepository(), dialnexa.asClient());
  const metrics = new RecordingMetrics();
  let takenOverAt = -1;
  const sut = new TeardownRunner(
    repo.asRepository(),
    dialnexa.asClient(),
    archive.asService(),
    anchors as unknown as AuditAnchorService,
    gate,
    receipts as unknown as ReceiptService,
    config,
    metrics,
  );
  return {
    sut,
    metrics,
    repo,
    dialnexa,
    archive,
    anchors,
    receipts,
    timeline,
    /** The audit events this run committed (not the seeded ones). */
    newEvents: () => repo.eventTypes().slice(committed.length),
    /** Another worker claims the teardown, as after this worker's lease ran out. */
    takeOver: () => {
      repo.takeOver(teardown.id);
      takenOverAt = repo.writes.length;
    },
    /** What this worker tried to write once it was taken over, refused or not. */
    writesAfterTakeOver: () => {
      if (takenOverAt < 0) throw new Error('the teardown was never taken over');
      return repo.writes.slice(takenOverAt);
    },
  };
}

/** A teardown resumed at its delete, its archive exported and finalized. */
function buildAtDelete(env: Record<string, string> = {}) {
  return build({
    teardown: buildResumedTeardown('delete'),
    committed: ['archive.exported', 'archive.finalized'],
    env,
  });
}

/** What the runner reported through the metrics port, in order. */
class RecordingMetrics implements TeardownMetrics {
  readonly reports: string[] = [];
  stepFinished(step: string, outcome: string, seconds: number): void {
    if (!(seconds >= 0)) throw new Error(`step ${step} measured ${seconds} s`);
    this.reports.push(`step ${step} ${outcome}`);
  }
  teardownEnded(status: string, dryRun: boolean): void {
    this.reports.push(`ended ${status}${dryRun ? ' (dry run)' : ''}`);
  }
  archiveWritten(snapshot: string, bytes: number, leads: number): void {
    this.reports.push(`archive ${snapshot} ${bytes > 0 ? 'bytes' : 'no bytes'} ${leads} leads`);
  }
}

const afterAWhile = (then: () => void) => void setTimeout(then, 20);

beforeAll(() => {
  Logger.overrideLogger(false);
});

describe(TeardownRunner.name, () => {
  it('records every upstream request it sent, on from the figure an earlier claim recorded, and nothing left at the end', async () => {
    const { sut, repo, dialnexa } = build({ teardown: buildTeardown({ upstreamRequests: 7 }) });
    dialnexa.rateLimit = { limit: 150, windowMs: 60_000 };

    await sut.run(TEARDOWN_ID);

    const row = repo.row(TEARDOWN_ID);
    expect(row.status).toBe('completed');
    expect(row.upstreamRequests).toBe(7 + dialnexa.requests.length);
    expect(row.estimate).toMatchObject({ requestsLeft: 0, secondsLeft: 0 });
  });

  it('estimates the requests and the time left, lead histories included before they start', async () => {
    const { sut, repo, dialnexa, archive } = build({ teardown: buildTeardown({ includeLeadHistory: true }) });
    dialnexa.rateLimit = { limit: 150, windowMs: 60_000 };
    let beforeHistory: Teardown | null = null;
    let atVerify: Teardown | null = null;
    archive.beforeHistory = () => void (beforeHistory = repo.row(TEARDOWN_ID));
    archive.onVerify = () => void (atVerify ??= repo.row(TEARDOWN_ID));

    await sut.run(TEARDOWN_ID);

    // after the export: cancel, settle (4), workflow, nodes, edges, one page, DELETE = 10, at 2.5
    // requests a second; before the histories also the 2 histories and the export's one page
    expect(beforeHistory).toMatchObject({
      leadsTotal: 2,
      estimate: { requestsLeft: 1 + 2 + 10, secondsLeft: Math.ceil(13 / 2.5) },
    });
    expect(atVerify).toMatchObject({ step: 'verify', estimate: { requestsLeft: 10, secondsLeft: 4 } });
  });

  it('exports, verifies, audits, cancels, finalizes and deletes, each in order, anchors the chain and asks for the receipt', async () => {
    const { sut, repo, archive, anchors, receipts, timeline } = build();

    await sut.run(TEARDOWN_ID);

    // the audit commit precedes the cancel, and archive.finalized precedes the DELETE
    expect(timeline).toEqual([
      'GET workflow',
      'GET nodes',
      'GET edges',
      'GET leads',
      'audit archive.exported',
      'POST cancel',
      'audit workflow.cancelled',
      'GET nodes',
      'GET leads?status=pending&limit=1',
      'GET leads?status=in_progress&limit=1',
      'GET leads?status=active&limit=1',
      'GET workflow',
      'GET nodes',
      'GET edges',
      'GET leads',
      'audit archive.finalized',
      'DELETE',
      'audit workflow.deleted',
      'audit teardown.completed',
    ]);
    expect(archive.calls).toEqual([
      'findExisting export',
      'export export',
      'verify export',
      'findExisting final',
      'export final',
      'verify final',
      'readManifest final',
    ]);
    expect(repo.row(TEARDOWN_ID)).toMatchObject({
      status: 'completed',
      step: 'delete',
      leadsExported: 2,
      deletePending: false,
      deleteAttempts: 1,
      error: null,
      leaseOwner: null,
    });
    expect(repo.events.find((e) => e.type === 'workflow.deleted')?.details).toMatchObject({
      confirmation: 'deleted',
    });
    expect(anchors.anchorNow).toHaveBeenCalledTimes(1);
    expect(receipts.issueQuietly).toHaveBeenCalledTimes(1);
    expect(receipts.issueQuietly.mock.calls[0]?.[0]).toMatchObject({ id: TEARDOWN_ID, status: 'completed' });
  });

  it('records the lead figures when the export step ends, also for an archive an earlier claim wrote', async () => {
    const { sut, repo, archive } = build();
    archive.existing.set('export', buildArchiveRef({ counts: { nodes: 2, edges: 1, leads: 7 } }));

    await sut.run(TEARDOWN_ID);

    expect(archive.calls).not.toContain('export export');
    expect(repo.row(TEARDOWN_ID)).toMatchObject({ status: 'completed', leadsExported: 7, leadsTotal: 7 });
  });

  it('reports each step, the archives it wrote and the end through the metrics port', async () => {
    const { sut, metrics } = build();

    await sut.run(TEARDOWN_ID);

    expect(metrics.reports).toEqual([
      'archive export bytes 2 leads',
      'step export ok',
      'step verify ok',
      'step audit ok',
      'step cancel ok',
      'step settle ok',
      'archive final bytes 2 leads',
      'step finalize ok',
      'step delete ok',
      'ended completed',
    ]);
  });

  describe('when the archive cannot be made', () => {
    it.each([
      { retryable: true, code: 'ARCHIVE_STORE_UNAVAILABLE' as const, exports: 2 },
      { retryable: false, code: 'ARCHIVE_WRITE_FAILED' as const, exports: 1 },
    ])(
      'fails an export that fails (retryable: $retryable) after $exports tries, with no audit event, no cancel, no delete',
      async ({ retryable, code, exports }) => {
        const { sut, repo, dialnexa, archive, newEvents, metrics } = build();
        archive.fail('export', new DomainError(code, 'S3 refused the upload', { retryable }));

        await sut.run(TEARDOWN_ID);

        expect(repo.row(TEARDOWN_ID)).toMatchObject({
          status: 'failed',
          archive: null,
          error: { code, step: 'export', retryable },
        });
        expect(archive.calls.filter((c) => c === 'export export')).toHaveLength(exports);
        expect(newEvents()).toEqual(['teardown.failed']);
        expect(metrics.reports).toEqual([
          ...Array<string>(exports).fill('step export error'),
          'ended failed',
        ]);
        expect(dialnexa.destructiveRequests()).toEqual([]);
        expect(repo.writes.filter((w) => w.op !== 'update')).toEqual([]);
      },
    );

    it('fails when the archive does not verify: no archive.exported, nothing sent', async () => {
      const { sut, repo, dialnexa, archive, newEvents } = build();
      archive.fail('verify', new DomainError('ARCHIVE_VERIFICATION_FAILED', 'leads.ndjson.gz differs'));

      await sut.run(TEARDOWN_ID);

      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'failed',
        error: { code: 'ARCHIVE_VERIFICATION_FAILED', step: 'verify', retryable: false },
      });
      expect(repo.row(TEARDOWN_ID).archive?.verifiedAt).toBeNull();
      expect(newEvents()).toEqual(['teardown.failed']);
      expect(dialnexa.destructiveRequests()).toEqual([]);
    });
  });

  describe('under a legal hold', () => {
    it('fails at the cancel with WORKFLOW_ON_HOLD, without sending it', async () => {
      const { sut, repo, dialnexa, newEvents } = build();
      repo.placeHold(WORKFLOW_ID);

      await sut.run(TEARDOWN_ID);

      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'failed',
        cancelSentAt: null,
        error: { code: 'WORKFLOW_ON_HOLD', step: 'cancel', retryable: true },
      });
      expect(dialnexa.destructiveRequests()).toEqual([]);
      expect(newEvents()).toEqual(['archive.exported', 'teardown.failed']);
      // a hold is lifted by a person: the step is not retried while it waits
      expect(repo.writes.filter((w) => w.op === 'gate:cancel')).toHaveLength(1);
    });

    it('fails at the delete without sending the DELETE or recording it as pending', async () => {
      const { sut, repo, dialnexa, newEvents } = buildAtDelete();
      repo.placeHold(WORKFLOW_ID);

      await sut.run(TEARDOWN_ID);

      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'failed',
        deletePending: false,
        deleteAttempts: 0,
        error: { code: 'WORKFLOW_ON_HOLD', step: 'delete' },
      });
      expect(dialnexa.destructiveRequests()).toEqual([]);
      expect(newEvents()).toEqual(['teardown.failed']);
    });

    it('does not resend a cancel after a 429 once a hold was placed during the wait', async () => {
      const { sut, repo, dialnexa, newEvents } = build({
        teardown: buildResumedTeardown('cancel'),
        committed: ['archive.exported'],
      });
      dialnexa.answerCancel({ status: 429, then: () => repo.placeHold(WORKFLOW_ID) });

      await sut.run(TEARDOWN_ID);

      expect(dialnexa.destructiveRequests()).toEqual(['POST cancel']);
      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'failed',
        error: { code: 'WORKFLOW_ON_HOLD', step: 'cancel' },
      });
      expect(newEvents()).toEqual(['teardown.failed']);
    });

    it('does not resend a DELETE after a 429 once a hold was placed during the wait', async () => {
      const { sut, repo, dialnexa, newEvents } = buildAtDelete();
      dialnexa.answerDelete({ status: 429, then: () => repo.placeHold(WORKFLOW_ID) });

      await sut.run(TEARDOWN_ID);

      expect(dialnexa.destructiveRequests()).toEqual(['DELETE']);
      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'failed',
        deletePending: false,
        deleteAttempts: 1,
        error: { code: 'WORKFLOW_ON_HOLD', step: 'delete' },
      });
      expect(newEvents()).toEqual(['teardown.failed']);
    });
  });

  describe('when another worker takes the lease over', () => {
    it('sends no cancel and writes nothing more when the lease is lost before the cancel', async () => {
      const { sut, repo, dialnexa, newEvents, takeOver, writesAfterTakeOver } = build();
      repo.afterCommitOf('archive.exported', takeOver);

      await sut.run(TEARDOWN_ID);

      // the gate was asked, and refused
      expect(writesAfterTakeOver()).toMatchObject([{ op: 'gate:cancel', accepted: false }]);
      expect(dialnexa.destructiveRequests()).toEqual([]);
      expect(newEvents()).toEqual(['archive.exported']);
      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'cancelling',
        cancelSentAt: null,
        leaseOwner: 'other-worker',
        error: null,
      });
    });

    it('ends a 429 wait at the refused renewal: the DELETE is not resent and nothing more is written', async () => {
      const { sut, repo, dialnexa, newEvents, takeOver, writesAfterTakeOver } = buildAtDelete();
      dialnexa.rateLimitWaitMs = 10_000;
      dialnexa.answerDelete({ status: 429, then: takeOver });
      const started = Date.now();

      await sut.run(TEARDOWN_ID);

      // the renewal (every second with a 2 s lease) was refused and aborted the wait
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(dialnexa.destructiveRequests()).toEqual(['DELETE']);
      expect(writesAfterTakeOver()).toEqual([]);
      expect(newEvents()).toEqual([]);
      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'deleting',
        leaseOwner: 'other-worker',
        error: null,
      });
    });

    it('does not resend a DELETE whose answer came after the lease was taken over', async () => {
      const { sut, repo, dialnexa, newEvents, takeOver, writesAfterTakeOver } = buildAtDelete();
      dialnexa.answerDelete({ status: 409, inFlight: takeOver });

      await sut.run(TEARDOWN_ID);

      expect(dialnexa.destructiveRequests()).toEqual(['DELETE']);
      expect(writesAfterTakeOver().filter((w) => w.accepted)).toEqual([]);
      expect(newEvents()).toEqual([]);
      // the 409 could not be recorded: the new owner sees the DELETE as possibly performed
      expect(repo.row(TEARDOWN_ID)).toMatchObject({ status: 'deleting', deletePending: true, error: null });
    });
  });

  it('sends no cancel for a teardown aborted after its audit event', async () => {
    const { sut, repo, dialnexa, newEvents, anchors, receipts } = build();
    repo.afterCommitOf('archive.exported', () => repo.abort(TEARDOWN_ID));

    await sut.run(TEARDOWN_ID);

    expect(dialnexa.destructiveRequests()).toEqual([]);
    expect(repo.row(TEARDOWN_ID)).toMatchObject({ status: 'aborted', cancelSentAt: null, error: null });
    expect(newEvents()).toEqual(['archive.exported']);
    expect(anchors.anchorNow).not.toHaveBeenCalled();
    expect(receipts.issueQuietly).not.toHaveBeenCalled();
  });

  describe('at the cancel', () => {
    it('fails with WORKFLOW_GONE when DialNexa answers 404, and sends no DELETE', async () => {
      const { sut, repo, dialnexa, newEvents } = build({
        teardown: buildResumedTeardown('cancel'),
        committed: ['archive.exported'],
      });
      dialnexa.answerCancel({ status: 404 });

      await sut.run(TEARDOWN_ID);

      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'failed',
        cancelledAt: null,
        error: { code: 'WORKFLOW_GONE', step: 'cancel', retryable: false },
      });
      expect(dialnexa.destructiveRequests()).toEqual(['POST cancel']);
      expect(newEvents()).toEqual(['teardown.failed']);
    });

    it('takes a 409 (already cancelled or completed) as a cancel, and goes on to the delete', async () => {
      const { sut, repo, dialnexa } = build({
        teardown: buildResumedTeardown('cancel'),
        committed: ['archive.exported'],
      });
      dialnexa.answerCancel({ status: 409 });

      await sut.run(TEARDOWN_ID);

      expect(repo.events.find((e) => e.type === 'workflow.cancelled')?.details).toEqual({
        outcome: 'already_terminal',
      });
      expect(dialnexa.destructiveRequests()).toEqual(['POST cancel', 'DELETE']);
      expect(repo.row(TEARDOWN_ID).status).toBe('completed');
    });
  });

  describe('at the delete', () => {
    it('resends a DELETE answered 409 until one is performed, auditing one deletion', async () => {
      const { sut, repo, dialnexa, newEvents } = buildAtDelete();
      dialnexa.answerDelete({ status: 409 }, { status: 409 }, { status: 409 }, { status: 200 });

      await sut.run(TEARDOWN_ID);

      expect(dialnexa.destructiveRequests()).toEqual(['DELETE', 'DELETE', 'DELETE', 'DELETE']);
      expect(newEvents()).toEqual(['workflow.deleted', 'teardown.completed']);
      expect(repo.events.find((e) => e.type === 'workflow.deleted')?.details).toEqual({
        confirmation: 'deleted',
        deleteAttempts: 4,
      });
      expect(repo.row(TEARDOWN_ID)).toMatchObject({ status: 'completed', deletePending: false });
    });

    it('takes a 404 after a 429 as someone else’s deletion: WORKFLOW_GONE, no workflow.deleted', async () => {
      const { sut, repo, dialnexa, newEvents } = buildAtDelete();
      dialnexa.answerDelete({ status: 429 }, { status: 404 });

      await sut.run(TEARDOWN_ID);

      expect(dialnexa.destructiveRequests()).toEqual(['DELETE', 'DELETE']);
      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'failed',
        deletedAt: null,
        error: { code: 'WORKFLOW_GONE', step: 'delete', retryable: false },
      });
      expect(newEvents()).toEqual(['teardown.failed']);
    });

    it('takes a 404 after an unanswered DELETE as the confirmation of that DELETE', async () => {
      const { sut, repo, dialnexa, newEvents } = buildAtDelete();
      dialnexa.answerDelete({ noAnswer: 'ECONNRESET' }, { status: 404 });

      await sut.run(TEARDOWN_ID);

      expect(dialnexa.destructiveRequests()).toEqual(['DELETE', 'DELETE']);
      expect(newEvents()).toEqual(['workflow.deleted', 'teardown.completed']);
      expect(repo.events.find((e) => e.type === 'workflow.deleted')?.details).toEqual({
        confirmation: 'confirmed_by_404_after_unanswered_delete',
        deleteAttempts: 2,
      });
      expect(repo.row(TEARDOWN_ID).status).toBe('completed');
    });

    it('still confirms an unanswered DELETE by a 404 when a 429 came in between', async () => {
      const { sut, repo, dialnexa, newEvents } = buildAtDelete();
      dialnexa.answerDelete({ noAnswer: 'ECONNRESET' }, { status: 429 }, { status: 404 });

      await sut.run(TEARDOWN_ID);

      // the 429 proves only that its own attempt was not performed, not the unanswered one
      expect(dialnexa.destructiveRequests()).toEqual(['DELETE', 'DELETE', 'DELETE']);
      expect(newEvents()).toEqual(['workflow.deleted', 'teardown.completed']);
      expect(repo.events.find((e) => e.type === 'workflow.deleted')?.details).toMatchObject({
        confirmation: 'confirmed_by_404_after_unanswered_delete',
      });
    });

    it('does not take a 404 as ours once a 409 showed the workflow still there after an unanswered DELETE', async () => {
      const { sut, repo, dialnexa, newEvents } = buildAtDelete();
      dialnexa.answerDelete({ noAnswer: 'ECONNRESET' }, { status: 409 }, { status: 404 });

      await sut.run(TEARDOWN_ID);

      expect(dialnexa.destructiveRequests()).toEqual(['DELETE', 'DELETE', 'DELETE']);
      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'failed',
        error: { code: 'WORKFLOW_GONE', step: 'delete' },
      });
      expect(newEvents()).toEqual(['teardown.failed']);
    });

    it('refuses a DELETE whose archive.finalized is not committed, sending nothing', async () => {
      const { sut, repo, dialnexa, newEvents } = build({
        teardown: buildResumedTeardown('delete'),
        committed: ['archive.exported'],
      });

      await sut.run(TEARDOWN_ID);

      expect(dialnexa.destructiveRequests()).toEqual([]);
      expect(repo.row(TEARDOWN_ID)).toMatchObject({
        status: 'failed',
        deletePending: false,
        deleteAttempts: 0,
        error: { code: 'INTERNAL_ERROR', step: 'delete' },
      });
      expect(repo.row(TEARDOWN_ID).error?.message).toContain('archive.finalized is not committed');
      expect(newEvents()).toEqual(['teardown.failed']);
    });
  });

  it('fails with DELETE_SETTLE_TIMEOUT when leads stay in transit: no final snapshot, no DELETE', async () => {
    const { sut, repo, dialnexa, archive, newEvents } = build({
      // cancelled 5 s ago: DELETE_SETTLE_TIMEOUT_S (1 s) has passed at the first poll
      teardown: buildResumedTeardown('finalize', { deleteWaitStartedAt: new Date(Date.now() - 5_000) }),
      committed: ['archive.exported', 'workflow.cancelled'],
    });
    dialnexa.leads.push({ id: 'wlead_3', status: 'in_progress', current_node_id: 'node_call' });

    await sut.run(TEARDOWN_ID);

    expect(repo.row(TEARDOWN_ID)).toMatchObject({
      status: 'failed',
      error: { code: 'DELETE_SETTLE_TIMEOUT', step: 'finalize', retryable: true },
    });
    expect(repo.row(TEARDOWN_ID).archive?.final).toBeNull();
    expect(archive.calls).not.toContain('export final');
    expect(dialnexa.requests).not.toContain('GET workflow');
    expect(dialnexa.destructiveRequests()).toEqual([]);
    expect(newEvents()).toEqual(['teardown.failed']);
  });

  describe('in a crash loop', () => {
    it.each(['queued', 'exporting'] as const)(
      'fails the teardown (%s) claimed more than RUNNER_MAX_CLAIMS_WITHOUT_PROGRESS times, fetching and sending nothing',
      async (status) => {
        const { sut, repo, dialnexa, archive, newEvents } = build({
          teardown: buildTeardown({ status, claimsSinceProgress: 3 }),
        });

        await sut.run(TEARDOWN_ID);

        expect(repo.row(TEARDOWN_ID)).toMatchObject({
          status: 'failed',
          error: { code: 'TEARDOWN_CRASH_LOOP', step: 'export', retryable: true },
        });
        expect(dialnexa.requests).toEqual([]);
        expect(archive.calls).toEqual([]);
        expect(newEvents()).toEqual(['teardown.failed']);
      },
    );

    it('still runs a teardown claimed exactly RUNNER_MAX_CLAIMS_WITHOUT_PROGRESS times', async () => {
      const { sut, repo } = build({
        teardown: buildTeardown({ status: 'exporting', claimsSinceProgress: 2 }),
      });

      await sut.run(TEARDOWN_ID);

      expect(repo.row(TEARDOWN_ID)).toMatchObject({ status: 'completed', claimsSinceProgress: 0 });
    });
  });

  describe('at shutdown', () => {
    // one attempt per step: a failure not recorded is then one the runner chose not to record
    const RECORD_ANY_FAILURE = { RUNNER_STEP_ATTEMPTS: '1' };

    it('ends a 429 wait at once: the DELETE is not resent and the step is not recorded as failed', async () => {
      const { sut, repo, dialnexa, newEvents } = buildAtDelete(RECORD_ANY_FAILURE);
      dialnexa.rateLimitWaitMs = 10_000;
      dialnexa.answerDelete({ status: 429, then: () => afterAWhile(() => sut.stop()) });
      const started = Date.now();

      await sut.run(TEARDOWN_ID);

      expect(Date.now() - started).toBeLessThan(5_000);
      expect(dialnexa.destructiveRequests()).toEqual(['DELETE']);
      expect(newEvents()).toEqual([]);
      // released, so that another replica resumes it at once
      expect(repo.row(TEARDOWN_ID)).toMatchObject({ status: 'deleting', error: null, leaseOwner: null });
    });

    it('ends the wait between DELETEs answered 409: nothing more sent, nothing recorded as failed', async () => {
      const { sut, repo, dialnexa, newEvents } = buildAtDelete({
        ...RECORD_ANY_FAILURE,
        DELETE_BACKOFF_BASE_MS: '10000',
        DELETE_BACKOFF_MAX_MS: '10000',
        DELETE_SETTLE_TIMEOUT_S: '60',
      });
      dialnexa.answerDelete({ status: 409, then: () => afterAWhile(() => sut.stop()) });
      const started = Date.now();

      await sut.run(TEARDOWN_ID);

      expect(Date.now() - started).toBeLessThan(5_000);
      expect(dialnexa.destructiveRequests()).toEqual(['DELETE']);
      expect(newEvents()).toEqual([]);
      expect(repo.row(TEARDOWN_ID)).toMatchObject({ status: 'deleting', error: null, leaseOwner: null });
    });

    it('refuses to start a teardown once stopping, claiming nothing', async () => {
      const { sut, repo, dialnexa } = build();
      sut.stop();

      await expect(sut.run(TEARDOWN_ID)).rejects.toThrow('shutting down');

      expect(repo.row(TEARDOWN_ID)).toMatchObject({ status: 'queued', fencingToken: 0n });
      expect(dialnexa.requests).toEqual([]);
    });
  });
});
