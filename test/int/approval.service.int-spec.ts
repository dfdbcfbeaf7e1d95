/**
 * Four-eyes approval against the real PostgreSQL: a decision writes the approval row (approvals
 * module), the teardown's status (teardown module, through the ApprovalSubjects port) and the
 * audit event in one unit of work, so they commit together or not at all; refusals write
 * nothing; decisions on one teardown happen one after another under its row lock.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ApprovalRepository } from '../../src/approvals/approval.repository.js';
import { ApprovalService } from '../../src/approvals/approval.service.js';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import type { AuditEvent, NewAuditEvent } from '../../src/audit/audit-event.js';
import type { Caller } from '../../src/auth/caller.js';
import { IdempotencyRepository } from '../../src/db/idempotency.repository.js';
import { PrismaUnitOfWork } from '../../src/db/prisma-unit-of-work.js';
import { PrismaService } from '../../src/db/prisma.service.js';
import type { Transaction } from '../../src/db/unit-of-work.js';
import { LegalHoldRepository } from '../../src/holds/legal-hold.repository.js';
import type { JobQueueService } from '../../src/jobs/job-queue.service.js';
import type { NewTeardown, Teardown } from '../../src/teardown/teardown.js';
import { TeardownRepository } from '../../src/teardown/teardown.repository.js';
import {
  buildConfig,
  closeDatabase,
  database,
  resetDatabase,
  SUITE_LOCK_TIMEOUT_MS,
  SuiteLock,
} from '../support/int-env.js';

const REQUESTER: Caller = { name: 'billing-team', roles: ['requester'] };
const APPROVER_1: Caller = { name: 'approver-1', roles: ['approver'] };
const APPROVER_2: Caller = { name: 'approver-2', roles: ['approver'] };
const ADMIN: Caller = { name: 'ops-admin', roles: ['admin'] };

let workflowCounter = 0;

function build(overrides: Partial<NewTeardown> = {}): NewTeardown {
  workflowCounter += 1;
  return {
    workflowId: `wfl_appr${String(workflowCounter).padStart(8, '0')}`,
    reason: 'GDPR erasure, ticket PRIV-1042',
    ticket: 'PRIV-1042',
    dryRun: false,
    includeLeadHistory: false,
    requestedBy: REQUESTER.name,
    approvalsRequired: 2,
    ...overrides,
  };
}

/** An audit repository whose appends inside a unit of work fail, after everything else was written. */
class FailingAuditRepository extends AuditRepository {
  override appendWithin(_tx: Transaction, _events: NewAuditEvent[]): Promise<AuditEvent[]> {
    return Promise.reject(new Error('audit append failed'));
  }
}

describe(ApprovalService.name, () => {
  let prisma: PrismaService;
  let teardowns: TeardownRepository;
  let offered: string[];
  let sut: ApprovalService;
  let lock: SuiteLock;

  const config = buildConfig({ APPROVALS_REQUIRED: '2', APPROVAL_TTL_HOURS: '1' });
  const queue = {
    offer: (id: string) => Promise.resolve(void offered.push(id)),
  } as unknown as JobQueueService;

  function serviceWith(audit: AuditRepository): ApprovalService {
    return new ApprovalService(
      new PrismaUnitOfWork(prisma),
      teardowns,
      new ApprovalRepository(prisma),
      audit,
      queue,
      config,
    );
  }

  beforeAll(async () => {
    lock = await SuiteLock.acquire();
    prisma = new PrismaService(config);
    teardowns = new TeardownRepository(
      prisma,
      new PrismaUnitOfWork(prisma),
      new LegalHoldRepository(prisma),
      new AuditRepository(prisma),
      new IdempotencyRepository(prisma),
    );
    sut = serviceWith(new AuditRepository(prisma));
  }, SUITE_LOCK_TIMEOUT_MS);

  afterAll(async () => {
    await prisma.$disconnect();
    await closeDatabase();
    await lock.release();
  });

  beforeEach(async () => {
    await resetDatabase();
    offered = [];
  });

  async function awaiting(input: NewTeardown = build()): Promise<Teardown> {
    const outcome = await teardowns.create(input, null);
    if (outcome.kind !== 'created') throw new Error(`expected a new teardown, got ${outcome.kind}`);
    return outcome.teardown;
  }

  /** Moves the request `minutes` into the past, as time passing would. */
  async function requestedAgo(id: string, minutes: number): Promise<void> {
    await database().query(
      `UPDATE teardown SET created_at = now() - make_interval(mins => $2) WHERE id = $1`,
      [id, minutes],
    );
  }

  /** Everything a decision may write, to compare before and after. */
  async function written(id: string) {
    const [row] = await database().query<{
      status: string;
      updated_at: Date;
      active_workflow_id: string | null;
    }>('SELECT status, updated_at, active_workflow_id FROM teardown WHERE id = $1', [id]);
    const approvals = await database().query<{ approver: string; decision: string; comment: string | null }>(
      'SELECT approver, decision, comment FROM approval WHERE teardown_id = $1 ORDER BY decided_at, approver',
      [id],
    );
    const events = await database().query<{ type: string; actor: string; details: Record<string, unknown> }>(
      'SELECT type, actor, details FROM audit_event WHERE teardown_id = $1 ORDER BY seq',
      [id],
    );
    return { row, approvals, events };
  }

  describe('decide', () => {
    it('records each approval with its audit event, and queues the teardown with the second one', async () => {
      const { id } = await awaiting();

      const first = await sut.decide(APPROVER_1, id, 'approved', 'checked PRIV-1042');
      expect(first.teardown.status).toBe('awaiting_approval');
      expect(first.approvals).toEqual([
        expect.objectContaining({
          approver: 'approver-1',
          decision: 'approved',
          comment: 'checked PRIV-1042',
        }),
      ]);
      expect(offered).toEqual([]);

      const second = await sut.decide(ADMIN, id, 'approved', null);
      expect(second.teardown.status).toBe('queued');
      expect(second.approvals.map((a) => a.approver)).toEqual(['approver-1', 'ops-admin']);
      expect(offered).toEqual([id]);

      const { row, approvals, events } = await written(id);
      expect(row).toMatchObject({ status: 'queued', active_workflow_id: expect.any(String) });
      expect(approvals).toHaveLength(2);
      expect(events.map((e) => [e.type, e.actor, e.details['approvals'], e.details['status']])).toEqual([
        ['teardown.requested', 'billing-team', undefined, undefined],
        ['teardown.approved', 'approver-1', 1, 'awaiting_approval'],
        ['teardown.approved', 'ops-admin', 2, 'queued'],
      ]);
    });

    it('ends the teardown with one rejection and frees its workflow for a new request', async () => {
      const input = build();
      const { id } = await awaiting(input);

      const { teardown } = await sut.decide(APPROVER_1, id, 'rejected', 'wrong workflow');

      expect(teardown).toMatchObject({ status: 'rejected', completedAt: expect.any(Date) });
      expect(offered).toEqual([]);
      const { events } = await written(id);
      expect(events.at(-1)).toMatchObject({
        type: 'teardown.rejected',
        actor: 'approver-1',
        details: { comment: 'wrong workflow', status: 'rejected' },
      });
      await expect(
        teardowns.create({ ...input, reason: 'the right one this time' }, null),
      ).resolves.toMatchObject({
        kind: 'created',
      });
    });

    it.each([
      ['the requester', REQUESTER, 'APPROVAL_NOT_ALLOWED'],
      ['an admin that requested it', ADMIN, 'APPROVAL_NOT_ALLOWED'],
    ] as const)('refuses %s and writes nothing', async (_who, caller, code) => {
      const { id } = await awaiting(build({ requestedBy: caller.name }));
      const before = await written(id);

      await expect(sut.decide(caller, id, 'approved', null)).rejects.toMatchObject({ code });

      await expect(written(id)).resolves.toEqual(before);
    });

    it('refuses a second decision by the same caller and writes nothing', async () => {
      const { id } = await awaiting();
      await sut.decide(APPROVER_1, id, 'approved', null);
      const before = await written(id);

      await expect(sut.decide(APPROVER_1, id, 'rejected', 'changed my mind')).rejects.toMatchObject({
        code: 'APPROVAL_ALREADY_RECORDED',
        details: { decision: 'approved' },
      });

      await expect(written(id)).resolves.toEqual(before);
    });

    it('refuses a teardown that no longer awaits approval, and one that does not exist', async () => {
      const { id } = await awaiting();
      await sut.decide(APPROVER_1, id, 'rejected', null);
      const before = await written(id);

      await expect(sut.decide(APPROVER_2, id, 'approved', null)).rejects.toMatchObject({
        code: 'TEARDOWN_NOT_AWAITING_APPROVAL',
      });
      await expect(
        sut.decide(APPROVER_2, 'td_00000000000000000000000000', 'approved', null),
      ).rejects.toMatchObject({
        code: 'TEARDOWN_NOT_FOUND',
      });

      await expect(written(id)).resolves.toEqual(before);
    });

    it('after APPROVAL_TTL_HOURS, rejects the teardown as the system, records no approval, and answers APPROVAL_EXPIRED', async () => {
      const { id } = await awaiting();
      await requestedAgo(id, 61);

      await expect(sut.decide(APPROVER_1, id, 'approved', 'too late')).rejects.toMatchObject({
        code: 'APPROVAL_EXPIRED',
        details: { status: 'rejected' },
      });

      const { row, approvals, events } = await written(id);
      expect(row).toMatchObject({ status: 'rejected', active_workflow_id: null });
      expect(approvals).toEqual([]);
      expect(events.at(-1)).toEqual({
        type: 'teardown.rejected',
        actor: 'system',
        details: { comment: 'no approval within 1 hours', expired: true },
      });
      expect(offered).toEqual([]);
    });

    it('commits nothing when the audit event cannot be appended: approval row and status roll back with it', async () => {
      const { id } = await awaiting(build({ approvalsRequired: 1 }));
      const before = await written(id);

      await expect(
        serviceWith(new FailingAuditRepository(prisma)).decide(APPROVER_1, id, 'approved', null),
      ).rejects.toThrow('audit append failed');

      await expect(written(id)).resolves.toEqual(before);
      expect(offered).toEqual([]);
    });

    it('serialises concurrent approvals by different callers: both count, and the teardown is queued once', async () => {
      const { id } = await awaiting();

      await Promise.all([
        sut.decide(APPROVER_1, id, 'approved', null),
        sut.decide(APPROVER_2, id, 'approved', null),
      ]);

      const { row, approvals, events } = await written(id);
      expect(row?.status).toBe('queued');
      expect(approvals).toHaveLength(2);
      expect(events.slice(1).map((e) => e.details['approvals'])).toEqual([1, 2]);
      expect(offered).toEqual([id]);
    });

    it('takes one of two concurrent decisions by the same caller and refuses the other', async () => {
      const { id } = await awaiting();

      const answers = await Promise.allSettled([
        sut.decide(APPROVER_1, id, 'approved', null),
        sut.decide(APPROVER_1, id, 'approved', null),
      ]);

      expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
      expect(answers.find((a) => a.status === 'rejected')).toMatchObject({
        reason: { code: 'APPROVAL_ALREADY_RECORDED' },
      });
      const { approvals, events } = await written(id);
      expect(approvals).toHaveLength(1);
      expect(events.map((e) => e.type)).toEqual(['teardown.requested', 'teardown.approved']);
    });
  });

  describe('expireOverdue', () => {
    it('rejects, as the system, only the teardowns still awaiting approval after APPROVAL_TTL_HOURS', async () => {
      const overdue = await awaiting();
      const fresh = await awaiting();
      const decided = await awaiting();
      await sut.decide(APPROVER_1, decided.id, 'rejected', null);
      await requestedAgo(overdue.id, 61);
      await requestedAgo(fresh.id, 59);
      await requestedAgo(decided.id, 61);

      await expect(sut.expireOverdue()).resolves.toEqual([overdue.id]);

      await expect(written(overdue.id)).resolves.toMatchObject({
        row: { status: 'rejected', active_workflow_id: null },
        approvals: [],
        events: [
          { type: 'teardown.requested' },
          { type: 'teardown.rejected', actor: 'system', details: { expired: true } },
        ],
      });
      await expect(written(fresh.id)).resolves.toMatchObject({ row: { status: 'awaiting_approval' } });
      await expect(written(decided.id)).resolves.toMatchObject({
        events: [{ type: 'teardown.requested' }, { type: 'teardown.rejected', actor: 'approver-1' }],
      });
      await expect(sut.expireOverdue()).resolves.toEqual([]);
    });
  });

  describe('of', () => {
    it("lists each teardown's decisions, oldest first, and leaves out teardowns without any", async () => {
      const a = await awaiting();
      const b = await awaiting();
      const none = await awaiting();
      await sut.decide(APPROVER_1, a.id, 'approved', 'first');
      await sut.decide(APPROVER_2, a.id, 'rejected', 'second');
      await sut.decide(APPROVER_2, b.id, 'approved', null);

      const listed = await sut.of([a.id, b.id, none.id]);

      expect(listed.get(a.id)?.map((d) => [d.approver, d.decision, d.comment])).toEqual([
        ['approver-1', 'approved', 'first'],
        ['approver-2', 'rejected', 'second'],
      ]);
      expect(listed.get(b.id)).toHaveLength(1);
      expect(listed.has(none.id)).toBe(false);
    });
  });
});
