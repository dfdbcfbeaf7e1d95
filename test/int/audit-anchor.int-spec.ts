/**
 * AuditAnchorService against the real PostgreSQL and S3 store: what an anchor holds and where,
 * that an unchanged head is not anchored twice (also across a restart), that anchoring failures
 * are reported and never thrown, and that verify names an event the anchors know but the chain
 * lost.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { GetObjectRetentionCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { ArchiveStoreClient } from '../../src/archive/archive-store.client.js';
import { AuditAnchorService } from '../../src/audit/audit-anchor.service.js';
import type { NewAuditEvent } from '../../src/audit/audit-event.js';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import type { AppConfig } from '../../src/config/app.config.js';
import { PrismaService } from '../../src/db/prisma.service.js';
import {
  buildConfig,
  closeDatabase,
  database,
  requireS3,
  resetDatabase,
  RUN_PREFIX,
  SUITE_LOCK_TIMEOUT_MS,
  SuiteLock,
} from '../support/int-env.js';

function build(overrides: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    actor: 'billing-team',
    teardownId: 'td_01JDINTTEST0000000000000A',
    workflowId: 'wfl_m3v7zb9rk2px',
    type: 'teardown.requested',
    details: { reason: 'GDPR erasure' },
    ...overrides,
  };
}

describe(AuditAnchorService.name, () => {
  let lock: SuiteLock;
  let prisma: PrismaService;
  let audit: AuditRepository;
  let config: AppConfig;
  let store: ArchiveStoreClient;
  let sut: AuditAnchorService;
  let s3: S3Client;

  const anchorKeys = async (): Promise<string[]> => {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: config.auditAnchors.prefix }),
    );
    return (out.Contents ?? []).map((o) => o.Key!);
  };

  beforeAll(async () => {
    requireS3();
    lock = await SuiteLock.acquire();
    s3 = new S3Client({
      region: process.env['S3_REGION'] ?? 'us-east-1',
      endpoint: process.env['S3_ENDPOINT'],
      forcePathStyle: true,
    });
  }, SUITE_LOCK_TIMEOUT_MS);

  afterAll(async () => {
    await prisma?.$disconnect();
    store?.onApplicationShutdown();
    s3?.destroy();
    await closeDatabase();
    await lock.release();
  });

  beforeEach(async () => {
    await resetDatabase();
    await prisma?.$disconnect();
    store?.onApplicationShutdown();
    // a fresh anchor series per test: the chain starts again from an empty table
    config = buildConfig({
      ARCHIVE_LOCK_MODE: 'GOVERNANCE',
      ARCHIVE_RETENTION_DAYS: '1',
      AUDIT_ANCHOR_PREFIX: `audit-anchors/${RUN_PREFIX}${randomBytes(4).toString('hex')}/`,
    });
    prisma = new PrismaService(config);
    audit = new AuditRepository(prisma);
    store = new ArchiveStoreClient(config);
    sut = new AuditAnchorService(audit, store, config);
  });

  it('anchors nothing while the chain is empty', async () => {
    await expect(sut.anchorNow('test')).resolves.toEqual({ status: 'empty' });
    await expect(anchorKeys()).resolves.toEqual([]);
  });

  it('writes the head under Object Lock as <prefix><16-digit seq>-<hash>.json, once per head', async () => {
    const [, second] = await audit.append([build(), build({ type: 'archive.exported' })]);

    const first = await sut.anchorNow('teardown td_x finished');

    const key = `${config.auditAnchors.prefix}0000000000000002-${second!.hash}.json`;
    expect(first).toEqual({ status: 'written', anchor: { key, seq: 2, hash: second!.hash } });
    const body = JSON.parse((await store.getBytes(key, null)).toString('utf8')) as Record<string, unknown>;
    expect(body).toEqual({
      formatVersion: 1,
      seq: 2,
      hash: second!.hash,
      at: expect.any(String),
      events: 2,
      reason: 'teardown td_x finished',
    });
    const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: config.s3.bucket, Key: key }));
    expect(retention.Retention?.Mode).toBe('GOVERNANCE');

    // nothing changed: neither this process nor a restarted one writes it again
    await expect(sut.anchorNow('interval')).resolves.toMatchObject({ status: 'unchanged' });
    const restarted = new AuditAnchorService(audit, store, config);
    await expect(restarted.anchorNow('interval')).resolves.toMatchObject({ status: 'unchanged' });
    await expect(anchorKeys()).resolves.toEqual([key]);

    await audit.append([build({ type: 'teardown.completed' })]);
    await expect(sut.anchorNow('interval')).resolves.toMatchObject({ status: 'written', anchor: { seq: 3 } });
    await expect(anchorKeys()).resolves.toHaveLength(2);
  });

  it('runs concurrent triggers one at a time, writing a head once', async () => {
    await audit.append([build()]);
    const outcomes = await Promise.all([sut.anchorNow('a'), sut.anchorNow('b'), sut.anchorNow('c')]);
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'unchanged', 'unchanged']);
  });

  it('reports a store failure instead of throwing it', async () => {
    await audit.append([build()]);
    const unreachable = new ArchiveStoreClient(
      buildConfig({ S3_BUCKET: `no-such-bucket-${randomBytes(4).toString('hex')}` }),
    );
    const failing = new AuditAnchorService(audit, unreachable, config);
    await expect(failing.anchorNow('interval')).resolves.toMatchObject({ status: 'failed' });
    unreachable.onApplicationShutdown();
  });

  it('verifies the chain against the anchors, and names an anchored event that has gone', async () => {
    await audit.append([build(), build()]);
    await sut.anchorNow('test');
    await audit.append([build(), build()]);
    const anchored = await sut.anchorNow('test');
    expect(anchored.status).toBe('written');
    const latest = anchored.status === 'written' ? anchored.anchor : null;

    await expect(sut.verify()).resolves.toEqual({
      ok: true,
      events: 4,
      head: latest!.hash,
      anchors: { checked: 2, latest, unanchoredEvents: 0, lagSeconds: 0, lastFailure: null },
    });

    // the tail deleted by a superuser: the walk sees a shorter, intact chain; the anchor does not
    await database().transaction(async (client) => {
      await client.query('ALTER TABLE audit_event DISABLE TRIGGER USER');
      await client.query('DELETE FROM audit_event WHERE seq > 2');
      await client.query('ALTER TABLE audit_event ENABLE TRIGGER USER');
    });
    const verified = await sut.verify();
    expect(verified).toMatchObject({
      ok: false,
      events: 2,
      firstBad: {
        seq: 4,
        id: null,
        reason: expect.stringContaining(`is missing, but anchor ${latest!.key}`),
      },
      anchors: { checked: 2, latest },
    });
  });

  it('refuses to anchor a chain that does not verify since the previous anchor, and reports it until it can', async () => {
    await audit.append([build(), build()]);
    await expect(sut.anchorNow('first')).resolves.toMatchObject({ status: 'written' });
    await audit.append([build(), build()]);
    // a superuser rewrites an event after the anchor: the stretch about to be locked in is broken
    await database().transaction(async (client) => {
      await client.query('ALTER TABLE audit_event DISABLE TRIGGER USER');
      await client.query(`UPDATE audit_event SET details = '{"edited": true}'::jsonb WHERE seq = 3`);
      await client.query('ALTER TABLE audit_event ENABLE TRIGGER USER');
    });

    const refused = await sut.anchorNow('second');

    expect(refused).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('event 3 hash does not match the event'),
    });
    await expect(anchorKeys()).resolves.toHaveLength(1); // nothing locked in
    await expect(sut.verify()).resolves.toMatchObject({
      ok: false,
      firstBad: { seq: 3 },
      anchors: { unanchoredEvents: 2, lastFailure: { reason: expect.stringContaining('event 3') } },
    });
  });

  it('answers ok: false when events have gone unanchored for more than five minutes', async () => {
    await audit.append([build()]);
    await expect(sut.anchorNow('first')).resolves.toMatchObject({ status: 'written' });
    await audit.append([build(), build()]);
    // six minutes later, with anchoring failing meanwhile (`at` is hashed: the clock moves instead)
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 6 * 60_000);
    let report: Awaited<ReturnType<typeof sut.verify>>;
    try {
      report = await sut.verify();
    } finally {
      clock.mockRestore();
    }

    expect(report).toMatchObject({
      ok: false,
      events: 3,
      firstBad: { seq: 2, reason: expect.stringContaining('unanchored for') },
      anchors: { unanchoredEvents: 2 },
    });
    expect(report.anchors.lagSeconds).toBeGreaterThan(300);
    // once anchored, the lag is gone
    await sut.anchorNow('catch up');
    await expect(sut.verify()).resolves.toMatchObject({
      ok: true,
      anchors: { lagSeconds: 0, unanchoredEvents: 0 },
    });
  });
});
