/**
 * The teardown table as the durable state machine, against the real PostgreSQL: idempotent
 * creation, one unfinished teardown per workflow, leases with fencing tokens, and the API
 * commands (abort, retry) racing a runner's fenced writes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import type { NewAuditEvent } from '../../src/audit/audit-event.js';
import { isStorableText } from '../../src/common/text.js';
import { IdempotencyRepository } from '../../src/db/idempotency.repository.js';
import { PrismaUnitOfWork } from '../../src/db/prisma-unit-of-work.js';
import { PrismaService } from '../../src/db/prisma.service.js';
import { LegalHoldRepository } from '../../src/holds/legal-hold.repository.js';
import { LegalHoldService } from '../../src/holds/legal-hold.service.js';
import type { NewTeardown, Teardown, TeardownError } from '../../src/teardown/teardown.js';
import {
  type IdempotencyClaim,
  LeaseLostError,
  TeardownRepository,
  TeardownStoppedError,
} from '../../src/teardown/teardown.repository.js';
import {
  buildConfig,
  closeDatabase,
  database,
  resetDatabase,
  SUITE_LOCK_TIMEOUT_MS,
  SuiteLock,
} from '../support/int-env.js';

let workflowCounter = 0;

function build(overrides: Partial<NewTeardown> = {}): NewTeardown {
  workflowCounter += 1;
  return {
    workflowId: `wfl_int${String(workflowCounter).padStart(8, '0')}`,
    reason: 'GDPR erasure, ticket PRIV-1042',
    ticket: 'PRIV-1042',
    dryRun: false,
    includeLeadHistory: false,
    requestedBy: 'billing-team',
    approvalsRequired: 0,
    ...overrides,
  };
}

function buildClaim(overrides: Partial<IdempotencyClaim> = {}): IdempotencyClaim {
  return { caller: 'billing-team', key: 'idem-key-1', requestHash: 'a'.repeat(64), ...overrides };
}

function buildError(overrides: Partial<TeardownError> = {}): TeardownError {
  return {
    code: 'UPSTREAM_UNAVAILABLE',
    message: 'DialNexa answered 503',
    step: 'cancel',
    retryable: true,
    ...overrides,
  };
}

const abortRequested = { type: 'abort_requested' } as const;
const retryRequested = { type: 'retry_requested' } as const;

function auditOf(type: 'teardown.aborted' | 'teardown.retried') {
  return (teardown: Teardown): NewAuditEvent => ({
    actor: 'ops-admin',
    teardownId: teardown.id,
    workflowId: teardown.workflowId,
    type,
    details: {},
  });
}

describe(TeardownRepository.name, () => {
  let prisma: PrismaService;
  let audit: AuditRepository;
  let sut: TeardownRepository;
  let holds: LegalHoldService;
  let lock: SuiteLock;

  beforeAll(async () => {
    lock = await SuiteLock.acquire();
    prisma = new PrismaService(buildConfig());
    audit = new AuditRepository(prisma);
    const unitOfWork = new PrismaUnitOfWork(prisma);
    const holdRepository = new LegalHoldRepository(prisma);
    sut = new TeardownRepository(
      prisma,
      unitOfWork,
      holdRepository,
      audit,
      new IdempotencyRepository(prisma),
    );
    holds = new LegalHoldService(unitOfWork, holdRepository, sut, audit);
  }, SUITE_LOCK_TIMEOUT_MS);

  afterAll(async () => {
    await prisma.$disconnect();
    await closeDatabase();
    await lock.release();
  });

  beforeEach(async () => {
    await resetDatabase();
  });

  async function created(input: NewTeardown = build()): Promise<Teardown> {
    const outcome = await sut.create(input, null);
    if (outcome.kind !== 'created') throw new Error(`expected a new teardown, got ${outcome.kind}`);
    return outcome.teardown;
  }

  async function claimed(id: string, owner = 'worker-1', leaseSeconds = 30): Promise<Teardown> {
    const teardown = await sut.claim(id, owner, leaseSeconds);
    if (!teardown) throw new Error(`could not claim ${id}`);
    return teardown;
  }

  /** A teardown claimed by `worker-1` and moved by its runner to `status`. */
  async function running(
    status: 'exporting' | 'cancelling' | 'deleting',
    input: NewTeardown = build(),
  ): Promise<Teardown> {
    let teardown = await claimed((await created(input)).id);
    teardown = await sut.update(teardown, { status: 'exporting', step: 'export' }, [], 'queued');
    if (status === 'exporting') return teardown;
    teardown = await sut.update(teardown, { status: 'cancelling', step: 'cancel' });
    if (status === 'cancelling') return teardown;
    return sut.update(teardown, { status: 'deleting', step: 'delete', cancelledAt: new Date() });
  }

  /** Commits the archive events the destructive-call gate requires (as the runner's steps do). */
  async function archived(
    teardown: Teardown,
    types: ReadonlyArray<'archive.exported' | 'archive.finalized'> = [
      'archive.exported',
      'archive.finalized',
    ],
  ): Promise<Teardown> {
    await sut.update(
      teardown,
      {},
      types.map((type) => ({
        actor: 'system',
        teardownId: teardown.id,
        workflowId: teardown.workflowId,
        type,
        details: {},
      })),
    );
    return (await sut.findById(teardown.id))!;
  }

  async function failed(error: TeardownError, input: NewTeardown = build()): Promise<Teardown> {
    const teardown = await running('cancelling', input);
    return sut.update(teardown, { status: 'failed', error });
  }

  describe('metricsSnapshot', () => {
    it('counts every status, and ages the oldest queued and the longest idle running teardown', async () => {
      const queued = await created();
      await running('exporting');
      await failed(buildError());
      await prisma.$executeRaw`UPDATE teardown SET updated_at = now() - interval '90 seconds' WHERE id = ${queued.id}`;

      const snapshot = await sut.metricsSnapshot();

      expect(snapshot.byStatus).toEqual({
        awaiting_approval: 0,
        queued: 1,
        exporting: 1,
        cancelling: 0,
        deleting: 0,
        completed: 0,
        failed: 1,
        rejected: 0,
        aborted: 0,
      });
      expect(snapshot.oldestQueuedSeconds).toBeGreaterThanOrEqual(90);
      expect(snapshot.oldestQueuedSeconds).toBeLessThan(120);
      expect(snapshot.longestIdleRunningSeconds).toBeGreaterThanOrEqual(90);
    });

    it('answers zeros on an empty table', async () => {
      const snapshot = await sut.metricsSnapshot();
      expect(Object.values(snapshot.byStatus).every((n) => n === 0)).toBe(true);
      expect([snapshot.oldestQueuedSeconds, snapshot.longestIdleRunningSeconds]).toEqual([0, 0]);
    });
  });

  describe('create', () => {
    it('creates a queued teardown and its teardown.requested audit event in one go', async () => {
      const input = build({ includeLeadHistory: true });

      const outcome = await sut.create(input, null);

      expect(outcome).toMatchObject({
        kind: 'created',
        teardown: {
          id: expect.stringMatching(/^td_[0-9A-Z]{26}$/),
          workflowId: input.workflowId,
          status: 'queued',
          step: 'export',
          attempt: 1,
          fencingToken: 0n,
          leaseOwner: null,
          requestedBy: 'billing-team',
          archive: null,
          error: null,
        },
      });
      const id = outcome.kind === 'created' ? outcome.teardown.id : '';
      await expect(sut.findById(id)).resolves.toEqual(outcome.kind === 'created' ? outcome.teardown : null);
      await expect(audit.forTeardown(id)).resolves.toMatchObject([
        {
          seq: 1,
          type: 'teardown.requested',
          actor: 'billing-team',
          teardownId: id,
          workflowId: input.workflowId,
          details: { reason: input.reason, ticket: 'PRIV-1042', dryRun: false, includeLeadHistory: true },
        },
      ]);
      await expect(audit.verifyChain()).resolves.toMatchObject({ ok: true, events: 1 });
    });

    it('answers in_progress with the unfinished teardown of the workflow, and writes nothing', async () => {
      const input = build();
      const first = await created(input);

      await expect(sut.create({ ...input, requestedBy: 'other-team' }, null)).resolves.toEqual({
        kind: 'in_progress',
        teardownId: first.id,
      });
      await expect(sut.list({ workflowId: input.workflowId }, 10)).resolves.toHaveLength(1);
      await expect(audit.list({}, 10)).resolves.toHaveLength(1);
    });

    it('lets only one of several concurrent creates for one workflow through', async () => {
      const input = build();

      const outcomes = await Promise.all(Array.from({ length: 8 }, () => sut.create(input, null)));

      const winners = outcomes.filter((o) => o.kind === 'created');
      expect(winners).toHaveLength(1);
      const winnerId = winners[0]!.kind === 'created' ? winners[0]!.teardown.id : '';
      expect(outcomes.filter((o) => o.kind === 'in_progress')).toEqual(
        Array.from({ length: 7 }, () => ({ kind: 'in_progress', teardownId: winnerId })),
      );
    });

    it('accepts a new teardown of a workflow once the previous one has ended', async () => {
      const input = build();
      const first = await running('exporting', input);
      await sut.applyCommand(first.id, abortRequested, auditOf('teardown.aborted'));

      await expect(sut.create(input, null)).resolves.toMatchObject({ kind: 'created' });
    });

    describe('with an Idempotency-Key', () => {
      it('replays the same teardown for the same caller, key and request', async () => {
        const input = build();
        const first = await sut.create(input, buildClaim());

        const again = await sut.create(input, buildClaim());

        expect(first.kind).toBe('created');
        expect(again).toEqual({
          kind: 'replayed',
          teardown: first.kind === 'created' ? first.teardown : null,
        });
        await expect(audit.list({}, 10)).resolves.toHaveLength(1);
      });

      it('replays even after the teardown ended (neither in_progress nor a new teardown)', async () => {
        const input = build();
        const original = await sut.create(input, buildClaim());
        const id = original.kind === 'created' ? original.teardown.id : '';
        await sut.applyCommand(id, abortRequested, auditOf('teardown.aborted'));

        await expect(sut.create(input, buildClaim())).resolves.toMatchObject({
          kind: 'replayed',
          teardown: { id, status: 'aborted' },
        });
      });

      it('answers key_reused with the first teardown id when the request differs', async () => {
        const first = await sut.create(build(), buildClaim());

        const reused = await sut.create(build(), buildClaim({ requestHash: 'b'.repeat(64) }));

        expect(reused).toEqual({
          kind: 'key_reused',
          teardownId: first.kind === 'created' ? first.teardown.id : '',
        });
        await expect(audit.list({}, 10)).resolves.toHaveLength(1);
      });

      it("keeps callers' keys apart: another caller's same key creates its own teardown", async () => {
        const first = await sut.create(build(), buildClaim({ caller: 'billing-team' }));

        const other = await sut.create(
          build({ requestedBy: 'growth-team' }),
          buildClaim({ caller: 'growth-team' }),
        );

        expect(first.kind).toBe('created');
        expect(other.kind).toBe('created');
        if (first.kind !== 'created' || other.kind !== 'created') return;
        expect(other.teardown.id).not.toBe(first.teardown.id);
        await expect(sut.create(build(), buildClaim({ caller: 'growth-team' }))).resolves.toMatchObject({
          kind: 'replayed',
          teardown: { id: other.teardown.id },
        });
      });

      it('records no key when the workflow already has a teardown in progress', async () => {
        const input = build();
        const first = await created(input);

        await expect(sut.create(input, buildClaim())).resolves.toEqual({
          kind: 'in_progress',
          teardownId: first.id,
        });
        await expect(database().query('SELECT * FROM idempotency_record')).resolves.toEqual([]);
      });

      it('forgets a key after 24 hours', async () => {
        const first = await sut.create(build(), buildClaim());
        await database().query(`UPDATE idempotency_record SET created_at = now() - interval '25 hours'`);

        const later = await sut.create(build(), buildClaim({ requestHash: 'b'.repeat(64) }));

        expect(later.kind).toBe('created');
        if (first.kind !== 'created' || later.kind !== 'created') return;
        expect(later.teardown.id).not.toBe(first.teardown.id);
      });

      it('purges keys older than 24 hours and keeps the others', async () => {
        await sut.create(build(), buildClaim({ key: 'old-key' }));
        await sut.create(build(), buildClaim({ key: 'new-key' }));
        await database().query(
          `UPDATE idempotency_record SET created_at = now() - interval '25 hours' WHERE key = 'old-key'`,
        );

        await expect(sut.purgeIdempotencyKeys()).resolves.toBe(1);

        const left = await database().query('SELECT key FROM idempotency_record');
        expect(left).toEqual([{ key: 'new-key' }]);
      });
    });
  });

  describe('leases', () => {
    it('claim takes the lease and increments the fencing token', async () => {
      const teardown = await created();
      const before = Date.now();

      const claim = await sut.claim(teardown.id, 'worker-1', 30);

      expect(claim).toMatchObject({
        id: teardown.id,
        leaseOwner: 'worker-1',
        fencingToken: 1n,
        status: 'queued',
      });
      expect(claim!.leaseExpiresAt!.getTime()).toBeGreaterThan(before + 25_000);
      expect(claim!.leaseExpiresAt!.getTime()).toBeLessThan(before + 35_000);
    });

    it('refuses a second claim while the lease is live', async () => {
      const teardown = await created();
      await claimed(teardown.id, 'worker-1');

      await expect(sut.claim(teardown.id, 'worker-2', 30)).resolves.toBeNull();
      await expect(sut.findById(teardown.id)).resolves.toMatchObject({
        leaseOwner: 'worker-1',
        fencingToken: 1n,
      });
    });

    it('refuses to claim a teardown that is not running', async () => {
      const teardown = await running('exporting');
      await sut.applyCommand(teardown.id, abortRequested, auditOf('teardown.aborted'));
      await database().query('UPDATE teardown SET lease_expires_at = NULL');

      await expect(sut.claim(teardown.id, 'worker-2', 30)).resolves.toBeNull();
    });

    it('fences out the first owner once its lease expired and another worker claimed', async () => {
      const first = await claimed((await created()).id, 'worker-1', 1);
      const exporting = await sut.update(first, { status: 'exporting', step: 'export' }, [], 'queued');
      await sleep(1_200);

      const second = await sut.claim(first.id, 'worker-2', 30);

      expect(second).toMatchObject({ leaseOwner: 'worker-2', fencingToken: 2n, status: 'exporting' });
      await expect(sut.update(exporting, { leadsExported: 10 })).rejects.toBeInstanceOf(LeaseLostError);
      await expect(sut.update(exporting, { leadsExported: 10 })).rejects.toMatchObject({
        code: 'LEASE_LOST',
        retryable: true,
      });
      await expect(
        sut.passDestructiveGate({ ...exporting, status: 'cancelling' }, 'cancel'),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(
        sut.passDestructiveGate({ ...exporting, status: 'deleting' }, 'delete'),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(sut.renewLease(first.id, first.fencingToken, 30)).resolves.toBe(false);
      await sut.release(first.id, first.fencingToken);
      // none of the refused writes landed, and the stale release left the new lease alone
      await expect(sut.findById(first.id)).resolves.toMatchObject({
        leaseOwner: 'worker-2',
        fencingToken: 2n,
        leadsExported: 0,
        cancelSentAt: null,
        deletePending: false,
        deleteAttempts: 0,
      });
      // the new owner's writes go through
      await expect(sut.update(second!, { leadsExported: 10 })).resolves.toMatchObject({ leadsExported: 10 });
    });

    it('counts claims since a step last finished: each claim adds one, a finished step and a retry reset it', async () => {
      const first = await claimed((await created()).id, 'worker-1', 1);
      expect(first.claimsSinceProgress).toBe(1);
      await sleep(1_100);
      const second = await claimed(first.id, 'worker-2', 1);
      expect(second.claimsSinceProgress).toBe(2);

      const progressed = await sut.update(second, { status: 'exporting', step: 'verify' }, [], 'queued');
      expect(progressed.claimsSinceProgress).toBe(0);
      const onlyProgress = await sut.update(progressed, { leadsExported: 5 });
      expect(onlyProgress.claimsSinceProgress).toBe(0);
      await sleep(1_100);
      await expect(claimed(first.id, 'worker-3')).resolves.toMatchObject({ claimsSinceProgress: 1 });
    });

    it('holdsLease (asked before every archive write) is true only for a live lease with the current token', async () => {
      const first = await claimed((await created()).id, 'worker-1', 1);
      await expect(sut.holdsLease(first.id, first.fencingToken)).resolves.toBe(true);
      await sleep(1_200);
      // expired but not yet claimed: another worker may claim it any moment, so no more writes
      await expect(sut.holdsLease(first.id, first.fencingToken)).resolves.toBe(false);

      const second = await claimed(first.id, 'worker-2');

      await expect(sut.holdsLease(first.id, first.fencingToken)).resolves.toBe(false);
      await expect(sut.holdsLease(second.id, second.fencingToken)).resolves.toBe(true);
      await sut.release(second.id, second.fencingToken);
      await expect(sut.holdsLease(second.id, second.fencingToken)).resolves.toBe(false);
    });

    it('refuses a fenced update with audit events atomically: no event is appended', async () => {
      const first = await claimed((await created()).id, 'worker-1', 1);
      await sleep(1_200);
      await claimed(first.id, 'worker-2');

      await expect(
        sut.update(
          first,
          { status: 'exporting' },
          [
            {
              actor: 'system',
              teardownId: first.id,
              workflowId: first.workflowId,
              type: 'archive.exported',
              details: {},
            },
          ],
          'queued',
        ),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(audit.has(first.id, 'archive.exported')).resolves.toBe(false);
    });

    it('renews and releases only with the current token', async () => {
      const teardown = await claimed((await created()).id, 'worker-1', 5);

      await expect(sut.renewLease(teardown.id, teardown.fencingToken, 60)).resolves.toBe(true);
      const renewed = await sut.findById(teardown.id);
      expect(renewed!.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
      await sut.release(teardown.id, teardown.fencingToken);
      await expect(sut.findById(teardown.id)).resolves.toMatchObject({
        leaseOwner: null,
        leaseExpiresAt: null,
      });
      await expect(sut.claim(teardown.id, 'worker-2', 30)).resolves.toMatchObject({
        leaseOwner: 'worker-2',
        fencingToken: 2n,
      });
    });
  });

  describe('leadsCheckpoints', () => {
    const part = (partNumber: number) => ({
      partNumber,
      etag: `"etag-${partNumber}"`,
      bytes: 5_300_000,
      leads: 2_000,
      firstPage: (partNumber - 1) * 20 + 1,
      lastPage: partNumber * 20,
      sha256State: Buffer.from([1, 2, 3, partNumber]),
      leadsDigest: String(partNumber).repeat(64),
      fingerprints: Buffer.alloc(16, partNumber),
      leadsTotalReported: 6_000,
    });

    it('records an upload and its parts, and a worker that claims the teardown next reads them back', async () => {
      const exporting = await running('exporting');
      const checkpoints = sut.leadsCheckpoints(exporting);
      await checkpoints.begin({ key: 'k/leads.ndjson.gz', uploadId: 'up-1', seeds: [4_000_000_000, 5] });
      await checkpoints.savePart(part(1));
      await checkpoints.savePart(part(2));
      await sut.release(exporting.id, exporting.fencingToken);

      const next = await claimed(exporting.id, 'worker-2');

      await expect(sut.leadsCheckpoints(next).load()).resolves.toEqual({
        key: 'k/leads.ndjson.gz',
        uploadId: 'up-1',
        seeds: [4_000_000_000, 5],
        parts: [part(1), part(2)],
      });
    });

    it('refuses every write of a worker that lost the lease, and a new upload forgets the old parts', async () => {
      const first = await claimed((await created()).id, 'worker-1', 1);
      const exporting = await sut.update(first, { status: 'exporting', step: 'export' }, [], 'queued');
      await sut.leadsCheckpoints(exporting).begin({ key: 'k', uploadId: 'up-1', seeds: [1, 2] });
      await sleep(1_200);
      const second = await claimed(first.id, 'worker-2');

      await expect(sut.leadsCheckpoints(exporting).savePart(part(1))).rejects.toBeInstanceOf(LeaseLostError);
      await expect(sut.leadsCheckpoints(exporting).clear()).rejects.toBeInstanceOf(LeaseLostError);
      await expect(sut.leadsCheckpoints(second).load()).resolves.toMatchObject({
        uploadId: 'up-1',
        parts: [],
      });

      await sut.leadsCheckpoints(second).savePart(part(1));
      await sut.leadsCheckpoints(second).begin({ key: 'k', uploadId: 'up-2', seeds: [1, 2] });
      await expect(sut.leadsCheckpoints(second).load()).resolves.toMatchObject({
        uploadId: 'up-2',
        parts: [],
      });
      await sut.leadsCheckpoints(second).clear();
      await expect(sut.leadsCheckpoints(second).load()).resolves.toBeNull();
    });
  });

  describe('update', () => {
    it('applies the patch and its audit events together, fenced by status', async () => {
      const teardown = await running('exporting');

      const updated = await sut.update(teardown, { leadsExported: 5, leadsTotal: 9 }, [
        {
          actor: 'system',
          teardownId: teardown.id,
          workflowId: teardown.workflowId,
          type: 'archive.exported',
          details: { n: 1 },
        },
      ]);

      expect(updated).toMatchObject({ leadsExported: 5, leadsTotal: 9, status: 'exporting' });
      await expect(audit.has(teardown.id, 'archive.exported')).resolves.toBe(true);
      await expect(sut.update(updated, { leadsExported: 6 }, [], 'cancelling')).rejects.toBeInstanceOf(
        TeardownStoppedError,
      );
    });

    it('frees the workflow for a new teardown when the teardown ends', async () => {
      const input = build();
      const teardown = await running('deleting', input);

      await sut.update(teardown, { status: 'completed', deletedAt: new Date(), completedAt: new Date() });

      await expect(sut.create(input, null)).resolves.toMatchObject({ kind: 'created' });
    });
  });

  describe('recording a failure, whatever its message holds', () => {
    // Upstream messages are cut at 300 code points; a naive cut left half an emoji, which
    // PostgreSQL's jsonb refused, so the failure was never recorded and the cancel was re-sent.
    const emojiAtTheCut = `DialNexa answered 403: ${'x'.repeat(276)}\ud83d`;
    const thousand = Array.from({ length: 250 }, (_, i) => ['😀', '\u0000', '\ud800', 'é'][i % 4]).join('');
    it.each([
      ['half an emoji at the truncation boundary', emojiAtTheCut],
      ['U+0000', 'before\u0000after'],
      ['a lone low surrogate', 'x\udc00y'],
      ['1,000 characters of emoji, U+0000 and lone surrogates', thousand.repeat(4)],
      ['100,000 characters', `${'😀'.repeat(50_000)}\u0000`],
    ])('records it with %s, the failure and its audit event together', async (_, message) => {
      const teardown = await running('cancelling');
      const error = buildError({ code: 'UPSTREAM_FORBIDDEN', message, retryable: false });

      const failed = await sut.update(teardown, { status: 'failed', error }, [
        {
          actor: 'system',
          teardownId: teardown.id,
          workflowId: teardown.workflowId,
          type: 'teardown.failed',
          details: { ...error, step: 'cancel', [`key${message.slice(0, 40)}`]: message },
        },
      ]);

      expect(failed).toMatchObject({
        status: 'failed',
        cancelSentAt: null,
        error: { code: 'UPSTREAM_FORBIDDEN', step: 'cancel', retryable: false },
      });
      expect(isStorableText(failed.error!.message)).toBe(true);
      expect(failed.error!.message.length).toBeGreaterThan(0);
      await expect(sut.findById(teardown.id)).resolves.toEqual(failed);
      // once failed, no runner claims it again (the bug re-sent the cancel on every claim)
      await expect(sut.claim(teardown.id, 'worker-2', 30)).resolves.toBeNull();
      const events = await audit.forTeardown(teardown.id);
      expect(events.map((e) => e.type)).toEqual(['teardown.requested', 'teardown.failed']);
      expect(isStorableText(JSON.stringify(events[1]!.details))).toBe(true);
      await expect(audit.verifyChain()).resolves.toMatchObject({ ok: true, events: 2 });
    });

    it('keeps a storable message as it was, emoji and all', async () => {
      const message = `DialNexa answered 403: ${'x'.repeat(276)}😀 שלום e\u0301 \u2028`;
      const teardown = await running('cancelling');

      const failed = await sut.update(teardown, { status: 'failed', error: buildError({ message }) });

      expect(failed.error!.message).toBe(message);
      await expect(
        database().query('SELECT error_message FROM teardown WHERE id = $1', [teardown.id]),
      ).resolves.toEqual([{ error_message: message }]);
    });

    it('bounds a huge message without splitting a character', async () => {
      const teardown = await running('cancelling');

      const failed = await sut.update(teardown, {
        status: 'failed',
        error: buildError({ message: '😀'.repeat(100_000) }),
      });

      expect(failed.error!.message.isWellFormed()).toBe(true);
      expect([...failed.error!.message].length).toBeLessThanOrEqual(2000);
    });
  });

  describe('abort', () => {
    it('aborts a teardown before the cancel is sent, and the runner then cannot send it', async () => {
      const runner = await running('cancelling');

      const aborted = await sut.applyCommand(runner.id, abortRequested, auditOf('teardown.aborted'));

      expect(aborted).toMatchObject({ id: runner.id, status: 'aborted', cancelSentAt: null });
      await expect(sut.passDestructiveGate(runner, 'cancel')).rejects.toBeInstanceOf(TeardownStoppedError);
      await expect(sut.passDestructiveGate(runner, 'cancel')).rejects.toMatchObject({
        code: 'TEARDOWN_NOT_ABORTABLE',
        current: { status: 'aborted' },
      });
      await expect(sut.findById(runner.id)).resolves.toMatchObject({ status: 'aborted', cancelSentAt: null });
      await expect(audit.forTeardown(runner.id)).resolves.toMatchObject([
        { type: 'teardown.requested' },
        { type: 'teardown.aborted', actor: 'ops-admin' },
      ]);
    });

    it('refuses to abort once the cancel may have reached DialNexa, and records nothing', async () => {
      const { teardown: runner } = await sut.passDestructiveGate(
        await archived(await running('cancelling')),
        'cancel',
      );
      expect(runner.cancelSentAt).toBeInstanceOf(Date);

      await expect(
        sut.applyCommand(runner.id, abortRequested, auditOf('teardown.aborted')),
      ).rejects.toMatchObject({
        code: 'TEARDOWN_NOT_ABORTABLE',
      });
      await expect(sut.findById(runner.id)).resolves.toMatchObject({ status: 'cancelling' });
      await expect(audit.has(runner.id, 'teardown.aborted')).resolves.toBe(false);
    });

    it('refuses to abort an unknown teardown', async () => {
      await expect(
        sut.applyCommand('td_nope', abortRequested, auditOf('teardown.aborted')),
      ).rejects.toMatchObject({
        code: 'TEARDOWN_NOT_FOUND',
      });
    });
  });

  describe('passDestructiveGate', () => {
    it('reports an earlier DELETE as unanswered only while nothing cleared deletePending', async () => {
      const runner = await archived(await running('deleting'));

      const first = await sut.passDestructiveGate(runner, 'delete');
      const second = await sut.passDestructiveGate(first.teardown, 'delete');

      expect(first).toMatchObject({
        deletePendingBefore: false,
        teardown: { deletePending: true, deleteAttempts: 1 },
      });
      expect(second).toMatchObject({
        deletePendingBefore: true,
        teardown: { deletePending: true, deleteAttempts: 2 },
      });
      const answered = await sut.update(second.teardown, { deletePending: false });
      await expect(sut.passDestructiveGate(answered, 'delete')).resolves.toMatchObject({
        deletePendingBefore: false,
        teardown: { deleteAttempts: 3 },
      });
    });

    it('refuses a teardown that is not deleting', async () => {
      const runner = await archived(await running('cancelling'));

      await expect(sut.passDestructiveGate(runner, 'delete')).rejects.toBeInstanceOf(TeardownStoppedError);
      await expect(sut.findById(runner.id)).resolves.toMatchObject({
        deletePending: false,
        deleteAttempts: 0,
      });
    });

    it('refuses a cancel without a committed archive.exported, and a DELETE without archive.finalized, recording nothing', async () => {
      const cancelling = await running('cancelling');
      await expect(sut.passDestructiveGate(cancelling, 'cancel')).rejects.toMatchObject({
        code: 'INTERNAL_ERROR',
        message: expect.stringContaining('archive.exported is not committed'),
      });
      await expect(sut.findById(cancelling.id)).resolves.toMatchObject({ cancelSentAt: null });

      const deleting = await archived(await running('deleting'), ['archive.exported']);
      await expect(sut.passDestructiveGate(deleting, 'delete')).rejects.toMatchObject({
        message: expect.stringContaining('archive.finalized is not committed'),
      });
      await expect(sut.findById(deleting.id)).resolves.toMatchObject({
        deletePending: false,
        deleteAttempts: 0,
      });
    });

    it('refuses every cancel and DELETE while a hold is in force, a cancel already sent included', async () => {
      const cancelling = await archived(await running('cancelling'));
      const { teardown: sent } = await sut.passDestructiveGate(cancelling, 'cancel');
      const hold = await holds.place(sent.workflowId, 'litigation', 'ops-admin');

      await expect(sut.passDestructiveGate(sent, 'cancel')).rejects.toMatchObject({
        code: 'WORKFLOW_ON_HOLD',
        details: { holdId: hold.hold.id },
      });
      const deleting = await archived(await running('deleting'));
      await holds.place(deleting.workflowId, 'litigation', 'ops-admin');
      await expect(sut.passDestructiveGate(deleting, 'delete')).rejects.toMatchObject({
        code: 'WORKFLOW_ON_HOLD',
      });
      await expect(sut.findById(deleting.id)).resolves.toMatchObject({
        deletePending: false,
        deleteAttempts: 0,
      });
    });

    it('refuses a worker whose lease ran out, even before anyone claimed the teardown', async () => {
      const runner = await archived(await running('cancelling'));
      await database().query(
        `UPDATE teardown SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
        [runner.id],
      );

      await expect(sut.passDestructiveGate(runner, 'cancel')).rejects.toBeInstanceOf(LeaseLostError);
      await expect(sut.findById(runner.id)).resolves.toMatchObject({ cancelSentAt: null });
    });
  });

  describe('retry', () => {
    it('requeues a failed retryable teardown with attempt + 1 and a teardown.retried event', async () => {
      const input = build();
      const teardown = await failed(buildError(), input);
      expect(teardown).toMatchObject({ status: 'failed', error: buildError() });

      const retried = await sut.applyCommand(teardown.id, retryRequested, auditOf('teardown.retried'));

      expect(retried).toMatchObject({ status: 'queued', step: 'cancel', attempt: 2, error: null });
      await expect(audit.has(teardown.id, 'teardown.retried')).resolves.toBe(true);
      // it is the workflow's unfinished teardown again
      await expect(sut.create(input, null)).resolves.toEqual({
        kind: 'in_progress',
        teardownId: teardown.id,
      });
    });

    it('refuses with TEARDOWN_IN_PROGRESS while another teardown of the workflow is active', async () => {
      const input = build();
      const teardown = await failed(buildError(), input);
      const other = await created(input);

      await expect(
        sut.applyCommand(teardown.id, retryRequested, auditOf('teardown.retried')),
      ).rejects.toMatchObject({
        code: 'TEARDOWN_IN_PROGRESS',
        details: { teardownId: other.id },
      });
      await expect(sut.findById(teardown.id)).resolves.toMatchObject({ status: 'failed', attempt: 1 });
      await expect(audit.has(teardown.id, 'teardown.retried')).resolves.toBe(false);
    });

    it('answers a retry racing a new create of the workflow with TEARDOWN_IN_PROGRESS or in_progress, never a raw error', async () => {
      const outcomes: string[] = [];
      for (let round = 0; round < 15; round += 1) {
        const input = build();
        const teardown = await failed(buildError(), input);

        const [retry, create] = await Promise.allSettled([
          sut.applyCommand(teardown.id, retryRequested, auditOf('teardown.retried')),
          sut.create(input, null),
        ]);

        outcomes.push(
          [
            retry.status === 'fulfilled' ? 'retried' : (retry.reason as { code?: string }).code,
            create.status === 'fulfilled' ? create.value.kind : (create.reason as { code?: string }).code,
          ].join('+'),
        );
      }
      // exactly one of the two wins each round; the loser gets the contract's answer
      expect(
        outcomes.filter((o) => o !== 'retried+in_progress' && o !== 'TEARDOWN_IN_PROGRESS+created'),
      ).toEqual([]);
    });

    it('refuses a teardown whose failure is not retryable', async () => {
      const teardown = await failed(buildError({ code: 'UPSTREAM_FORBIDDEN', retryable: false }));

      await expect(
        sut.applyCommand(teardown.id, retryRequested, auditOf('teardown.retried')),
      ).rejects.toMatchObject({
        code: 'TEARDOWN_NOT_RETRYABLE',
      });
      await expect(sut.findById(teardown.id)).resolves.toMatchObject({ status: 'failed', attempt: 1 });
    });
  });

  describe('as the HeldTeardowns port of a hold being placed', () => {
    it("lists the workflow's teardowns that are not completed, failed ones included, with what they sent", async () => {
      const input = build();
      const cancelling = await archived(await running('cancelling', input));
      const { teardown: cancelSent } = await sut.passDestructiveGate(cancelling, 'cancel');
      const deleting = await sut.update(cancelSent, {
        status: 'deleting',
        step: 'delete',
        cancelledAt: new Date(),
      });
      const { teardown: deleteSent } = await sut.passDestructiveGate(deleting, 'delete');
      const failedOne = await sut.update(deleteSent, {
        status: 'failed',
        error: buildError({ step: 'delete' }),
      });
      const done = await running('exporting', input);
      await sut.update(done, { status: 'completed', completedAt: new Date() });
      const queued = await created(input);
      await created(build()); // another workflow's

      const placed = await holds.place(input.workflowId, 'litigation', 'ops-admin');

      const expected = [
        { id: failedOne.id, status: 'failed', cancelSent: true, deleteSent: true },
        { id: queued.id, status: 'queued', cancelSent: false, deleteSent: false },
      ];
      expect(placed.teardowns).toEqual(expected);
      await expect(audit.list({ type: 'hold.placed' }, 10)).resolves.toMatchObject([
        {
          workflowId: input.workflowId,
          details: { holdId: placed.hold.id, unfinishedTeardowns: expected },
        },
      ]);
    });
  });

  describe('findStalled', () => {
    async function aged(id: string, sql: string): Promise<void> {
      await database().query(
        `UPDATE teardown SET updated_at = now() - interval '10 minutes', ${sql} WHERE id = $1`,
        [id],
      );
    }

    it('finds running teardowns with no live lease that have not moved for idleSeconds', async () => {
      const noLease = await created();
      await aged(noLease.id, 'lease_expires_at = NULL');
      const expiredLease = await running('deleting');
      await aged(expiredLease.id, `lease_expires_at = now() - interval '1 minute'`);
      const liveLease = await running('exporting');
      await aged(liveLease.id, `lease_expires_at = now() + interval '1 minute'`);
      await created(); // recently updated, no lease
      const ended = await running('exporting');
      await sut.applyCommand(ended.id, abortRequested, auditOf('teardown.aborted'));
      await aged(ended.id, 'lease_expires_at = NULL');
      await database().query(
        `UPDATE teardown SET updated_at = updated_at - interval '1 second' WHERE id = $1`,
        [noLease.id],
      );

      const stalled = await sut.findStalled(60);

      expect(stalled).toEqual([noLease.id, expiredLease.id]);
      await expect(sut.findStalled(60, 1)).resolves.toEqual([noLease.id]);
      await expect(sut.findStalled(3600)).resolves.toEqual([]);
    });
  });
});
