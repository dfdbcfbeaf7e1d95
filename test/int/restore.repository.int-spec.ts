/**
 * The restore tables against the real PostgreSQL: creation with its audit event and the
 * Idempotency-Key, leases with fencing tokens, and the intent log a lost lease cannot write.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import { IdempotencyRepository, requestHashOf } from '../../src/db/idempotency.repository.js';
import { PrismaUnitOfWork } from '../../src/db/prisma-unit-of-work.js';
import { PrismaService } from '../../src/db/prisma.service.js';
import type { NewRestore, Restore } from '../../src/restore/restore.js';
import { RestoreRepository } from '../../src/restore/restore.repository.js';
import {
  buildConfig,
  closeDatabase,
  resetDatabase,
  SUITE_LOCK_TIMEOUT_MS,
  SuiteLock,
} from '../support/int-env.js';

function build(overrides: Partial<NewRestore> = {}): NewRestore {
  return {
    teardownId: 'td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M',
    sourceWorkflowId: 'wfl_restored',
    snapshot: 'final',
    reason: 'deleted by mistake',
    dryRun: false,
    excludeLeadStatuses: ['removed'],
    requestedBy: 'ops-admin',
    ...overrides,
  };
}

describe(RestoreRepository.name, () => {
  let lock: SuiteLock;
  let prisma: PrismaService;
  let audit: AuditRepository;
  let sut: RestoreRepository;

  beforeAll(async () => {
    lock = await SuiteLock.acquire();
    prisma = new PrismaService(buildConfig());
    audit = new AuditRepository(prisma);
    sut = new RestoreRepository(
      prisma,
      new PrismaUnitOfWork(prisma),
      audit,
      new IdempotencyRepository(prisma),
    );
  }, SUITE_LOCK_TIMEOUT_MS);

  afterAll(async () => {
    await prisma.$disconnect();
    await closeDatabase();
    await lock.release();
  });

  beforeEach(async () => {
    await resetDatabase();
  });

  async function created(input: NewRestore = build()): Promise<Restore> {
    const outcome = await sut.create(input, null);
    if (outcome.kind !== 'created') throw new Error(`expected a new restore, got ${outcome.kind}`);
    return outcome.restore;
  }

  it('creates a queued restore and its restore.requested event, naming it, on the source teardown', async () => {
    const restore = await created();

    expect(restore).toMatchObject({ status: 'queued', snapshot: 'final', excludeLeadStatuses: ['removed'] });
    expect(restore.id).toMatch(/^rst_[0-9A-Z]{26}$/);
    const events = await audit.forTeardown(restore.teardownId);
    expect(events.map((e) => [e.type, e.actor, e.workflowId, e.details['restoreId']])).toEqual([
      ['restore.requested', 'ops-admin', 'wfl_restored', restore.id],
    ]);
  });

  it('replays an Idempotency-Key with the same request and refuses it with another', async () => {
    const claim = {
      caller: 'ops-admin',
      key: 'k-1',
      requestHash: requestHashOf({ a: 1 }, 'POST /v1/restores'),
    };
    const first = await sut.create(build(), claim);
    const again = await sut.create(build(), claim);
    const other = await sut.create(build(), {
      ...claim,
      requestHash: requestHashOf({ a: 2 }, 'POST /v1/restores'),
    });

    expect(first.kind).toBe('created');
    expect(again).toMatchObject({ kind: 'replayed' });
    expect(
      again.kind === 'replayed' && first.kind === 'created' && again.restore.id === first.restore.id,
    ).toBe(true);
    expect(other.kind).toBe('key_reused');
    expect(await audit.forTeardown(build().teardownId)).toHaveLength(1);
  });

  it('fences the intent log and the row: a runner whose lease was taken over writes nothing', async () => {
    const restore = await created();
    const first = (await sut.claim(restore.id, 'worker-1', 30))!;
    const log = sut.itemLog(first);
    await log.intend('node', 0, 'node_a');
    await log.record('node', 0, 'node_new');
    // the lease ran out and another worker claimed the restore
    await prisma.$executeRaw`UPDATE restore SET lease_expires_at = now() - interval '1 second' WHERE id = ${restore.id}`;
    const second = (await sut.claim(restore.id, 'worker-2', 30))!;

    await expect(log.intend('node', 1, 'node_b')).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await expect(sut.update(first, { status: 'creating' })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(second.fencingToken).toBe(first.fencingToken + 1n);
    expect(await sut.items(restore.id)).toEqual([
      expect.objectContaining({ kind: 'node', seq: 0, oldId: 'node_a', newId: 'node_new' }),
    ]);
  });

  it('keeps an open intent on a second intend, records leads maps, and withdraws a refused one', async () => {
    const restore = (await sut.claim((await created()).id, 'worker-1', 30))!;
    const log = sut.itemLog(restore);

    const intent = await log.intend('leads', 0, 'leads-file-0');
    const again = await log.intend('leads', 0, 'leads-file-0');
    await log.record('leads', 0, '2 leads', { wlead_1: 'wlead_new1', wlead_2: 'wlead_new2' });
    await log.intend('edge', 0, 'edge_1');
    await log.withdraw('edge', 0);

    expect(again.intendedAt).toEqual(intent.intendedAt);
    expect(await sut.items(restore.id)).toEqual([
      expect.objectContaining({
        kind: 'leads',
        seq: 0,
        leads: { wlead_1: 'wlead_new1', wlead_2: 'wlead_new2' },
      }),
    ]);
  });

  it('finds a running restore nobody holds once it is idle, and stores hostile text in its error', async () => {
    const restore = (await sut.claim((await created()).id, 'worker-1', 30))!;
    await sut.update(restore, {
      status: 'failed',
      error: {
        code: 'INTERNAL_ERROR',
        message: 'bad \ud800 text \u0000',
        retryable: false,
        details: { why: '\udfff' },
      },
    });
    const stalled = await created();

    expect(await sut.findStalled(0)).toEqual([stalled.id]);
    expect((await sut.findById(restore.id))!.error).toMatchObject({
      code: 'INTERNAL_ERROR',
      retryable: false,
    });
  });
});
