/**
 * The audit trail against the real PostgreSQL: the hash chain as written by concurrent
 * transactions, and the append-only guarantee that the database itself enforces.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import type { NewAuditEvent } from '../../src/audit/audit-event.js';
import { GENESIS_HASH } from '../../src/audit/audit-hash.js';
import { PrismaService } from '../../src/db/prisma.service.js';
import {
  buildConfig,
  closeDatabase,
  database,
  resetDatabase,
  SUITE_LOCK_TIMEOUT_MS,
  SuiteLock,
} from '../support/int-env.js';

function build(overrides: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    actor: 'billing-team',
    teardownId: 'td_01JDINTTEST0000000000000A',
    workflowId: 'wfl_m3v7zb9rk2px',
    type: 'teardown.requested',
    details: {
      reason: 'GDPR erasure, ticket PRIV-1042',
      ticket: 'PRIV-1042',
      dryRun: false,
      nested: { b: 2, a: [1, 'é'] },
    },
    ...overrides,
  };
}

/** The SQLSTATE the append-only trigger raises. */
const INSUFFICIENT_PRIVILEGE = '42501';

describe(AuditRepository.name, () => {
  let prisma: PrismaService;
  let sut: AuditRepository;
  let lock: SuiteLock;

  beforeAll(async () => {
    lock = await SuiteLock.acquire();
    prisma = new PrismaService(buildConfig());
    sut = new AuditRepository(prisma);
  }, SUITE_LOCK_TIMEOUT_MS);

  afterAll(async () => {
    await prisma.$disconnect();
    await closeDatabase();
    await lock.release();
  });

  beforeEach(async () => {
    await resetDatabase();
  });

  it('chains appended events: seq 1..n, each prevHash the hash before it, verifyChain ok with the last hash as head', async () => {
    const first = await sut.append([build({ type: 'teardown.requested' })]);
    const second = await sut.append([
      build({
        type: 'archive.exported',
        actor: 'system',
        details: { manifestKey: 'k', counts: { leads: 3 } },
      }),
      build({ type: 'workflow.cancelled', actor: 'system', details: {} }),
    ]);
    const third = await sut.append([
      build({ type: 'teardown.completed', teardownId: null, workflowId: null }),
    ]);
    const written = [...first, ...second, ...third];

    const stored = await sut.list({}, 100);

    expect(stored).toEqual(written);
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(stored[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < stored.length; i += 1) expect(stored[i]!.prevHash).toBe(stored[i - 1]!.hash);
    expect(new Set(stored.map((e) => e.hash)).size).toBe(4);
    await expect(sut.verifyChain()).resolves.toEqual({ ok: true, events: 4, head: stored[3]!.hash });
    // across batch boundaries, too
    await expect(sut.verifyChain(3)).resolves.toEqual({ ok: true, events: 4, head: stored[3]!.hash });
  });

  it('stores details quoting anything upstream sent, hashing exactly what it stores', async () => {
    const details = JSON.parse(
      '{"message": "cut \\ud83d", "nul\\u0000key": "a\\u0000b", "__proto__": {"x": "\\udc00"},' +
        ' "ok": "😀 שלום", "n": [1, -0, 1e21, "\\ud800\\ud800"]}',
    ) as Record<string, unknown>;

    const [written] = await sut.append([build({ details, actor: 'team\u0000a' })]);

    const [stored] = await sut.forTeardown(written!.teardownId!);
    expect(stored).toEqual(written);
    expect(stored!.details).toEqual(
      JSON.parse(
        '{"message": "cut \uFFFD", "nul\uFFFDkey": "a\uFFFDb", "__proto__": {"x": "\uFFFD"},' +
          ' "ok": "😀 שלום", "n": [1, 0, 1e21, "\uFFFD\uFFFD"]}',
      ),
    );
    expect(stored!.actor).toBe('team\uFFFDa');
    expect(Object.getPrototypeOf(stored!.details)).toBe(Object.prototype);
    await expect(sut.verifyChain()).resolves.toEqual({ ok: true, events: 1, head: written!.hash });
  });

  it('reports an empty chain as ok with the genesis hash as head', async () => {
    await expect(sut.verifyChain()).resolves.toEqual({ ok: true, events: 0, head: GENESIS_HASH });
  });

  it('reads events back by teardown, by type and after a seq', async () => {
    await sut.append([
      build({ teardownId: 'td_a', type: 'teardown.requested' }),
      build({ teardownId: 'td_b' }),
    ]);
    await sut.append([build({ teardownId: 'td_a', type: 'teardown.aborted' })]);

    await expect(sut.forTeardown('td_a')).resolves.toMatchObject([
      { seq: 1, type: 'teardown.requested' },
      { seq: 3, type: 'teardown.aborted' },
    ]);
    await expect(sut.has('td_a', 'teardown.aborted')).resolves.toBe(true);
    await expect(sut.has('td_b', 'teardown.aborted')).resolves.toBe(false);
    await expect(sut.list({ type: 'teardown.requested' }, 10, 1)).resolves.toMatchObject([
      { seq: 2, teardownId: 'td_b' },
    ]);
  });

  it('never forks the chain when 20 transactions append at once', async () => {
    const appends = Array.from({ length: 20 }, (_, i) =>
      sut.append([
        build({ teardownId: `td_par${i}`, details: { i, part: 1 } }),
        build({ teardownId: `td_par${i}`, details: { i, part: 2 } }),
      ]),
    );

    const results = await Promise.all(appends);

    const stored = await sut.list({}, 100);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // each transaction's events are contiguous: the chain lock is held for the whole transaction
    for (const events of results) expect(events[1]!.seq).toBe(events[0]!.seq + 1);
    await expect(sut.verifyChain()).resolves.toEqual({ ok: true, events: 40, head: stored[39]!.hash });
  });

  describe('append-only (enforced by the database, for every role)', () => {
    beforeEach(async () => {
      await sut.append([build(), build({ type: 'teardown.aborted' })]);
    });

    /** Both events are still there, unchanged. */
    async function expectTrailIntact(): Promise<void> {
      await expect(database().query<{ n: string }>('SELECT count(*) AS n FROM audit_event')).resolves.toEqual(
        [{ n: '2' }],
      );
      await expect(sut.verifyChain()).resolves.toMatchObject({ ok: true, events: 2 });
    }

    it('refuses UPDATE', async () => {
      await expect(
        database().query(`UPDATE audit_event SET actor = 'mallory' WHERE seq = 1`),
      ).rejects.toMatchObject({
        code: INSUFFICIENT_PRIVILEGE,
        message: expect.stringContaining('append-only: UPDATE'),
      });
      await expectTrailIntact();
    });

    it('refuses DELETE', async () => {
      await expect(database().query('DELETE FROM audit_event WHERE seq = 2')).rejects.toMatchObject({
        code: INSUFFICIENT_PRIVILEGE,
        message: expect.stringContaining('append-only: DELETE'),
      });
      await expectTrailIntact();
    });

    it('refuses TRUNCATE', async () => {
      await expect(database().query('TRUNCATE audit_event')).rejects.toMatchObject({
        code: INSUFFICIENT_PRIVILEGE,
        message: expect.stringContaining('append-only: TRUNCATE'),
      });
      await expectTrailIntact();
    });

    it('refuses an UPDATE through the service client too', async () => {
      await expect(prisma.$executeRaw`UPDATE audit_event SET details = '{}'::jsonb`).rejects.toThrow(
        /append-only/,
      );
      await expectTrailIntact();
    });
  });

  it('names the tampered event as firstBad when one event details were changed behind the triggers', async () => {
    const written = await sut.append([build(), build({ details: { reason: 'original' } }), build()]);
    await database().transaction(async (client) => {
      await client.query('ALTER TABLE audit_event DISABLE TRIGGER USER');
      await client.query(`UPDATE audit_event SET details = '{"reason":"forged"}'::jsonb WHERE seq = 2`);
      await client.query('ALTER TABLE audit_event ENABLE TRIGGER USER');
    });

    await expect(sut.verifyChain()).resolves.toEqual({
      ok: false,
      events: 1,
      firstBad: { seq: 2, id: written[1]!.id, reason: 'hash does not match the event' },
    });
  });

  it('names the event after a gap when an event was removed behind the triggers', async () => {
    const written = await sut.append([build(), build(), build()]);
    await database().transaction(async (client) => {
      await client.query('ALTER TABLE audit_event DISABLE TRIGGER USER');
      await client.query('DELETE FROM audit_event WHERE seq = 2');
      await client.query('ALTER TABLE audit_event ENABLE TRIGGER USER');
    });

    await expect(sut.verifyChain()).resolves.toMatchObject({
      ok: false,
      events: 1,
      firstBad: { seq: 3, id: written[2]!.id, reason: expect.stringContaining('missing') },
    });
  });
});
