import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetObjectRetentionCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { auditHash } from '../../src/audit/audit-hash.js';
import type { AuditEvent } from '../../src/audit/audit-event.js';
import {
  api,
  databaseUrl,
  DialnexaSimulator,
  KEYS,
  readObject,
  resetDatabase,
  type RunningService,
  s3,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';

interface Verification {
  ok: boolean;
  events: number;
  head?: string;
  firstBad?: { seq: number; id: string | null; reason: string };
  anchors: { checked: number; latest: { key: string; seq: number; hash: string } | null };
}

interface AuditRow {
  seq: string;
  id: string;
  at: Date;
  actor: string;
  teardown_id: string | null;
  workflow_id: string | null;
  type: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** What a database superuser can do: switch the append-only trigger off and change rows. */
async function asSuperuser(fn: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('ALTER TABLE audit_event DISABLE TRIGGER USER');
    await fn(client);
    await client.query('ALTER TABLE audit_event ENABLE TRIGGER USER');
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    await client.end();
  }
}

/**
 * The audit chain against a database superuser: one changed event is named by the hash walk; a
 * chain rewritten consistently (every hash recomputed) passes the walk, and the anchors written
 * to the bucket under Object Lock before the rewrite catch it.
 */
describe('audit anchors (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;

  const verify = async () => {
    const answer = await client.call<Verification>('GET', '/v1/audit/verify', { key: KEYS.auditor });
    expect(answer.status).toBe(200);
    return answer.body;
  };

  /** Waits for the service's own anchoring (every second here) to cover the chain's head. */
  const headAnchored = async (): Promise<Verification> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const verified = await verify();
      if (verified.ok && verified.anchors.latest?.seq === verified.events) return verified;
      if (Date.now() > deadline) throw new Error(`the head was not anchored: ${JSON.stringify(verified)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 0, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url, { AUDIT_ANCHOR_INTERVAL_S: '1' }));
    client = api(service.url);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
  });

  it('anchors the head under Object Lock, and catches a changed event and then a consistently rewritten chain', async () => {
    // three teardowns, the head anchored after each
    const anchoredSeqs: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const workflowId = sim.addWorkflow({ nodes: 1, edges: 0, leads: 2 });
      const created = await client.create({ workflowId, reason: `anchor test ${i}`, dryRun: true });
      await expect(client.waitForEnd(String(created.body['id']))).resolves.toMatchObject({
        status: 'completed',
      });
      anchoredSeqs.push((await headAnchored()).events);
    }

    const prefix = service.config.auditAnchors.prefix;
    const listed = await s3().send(
      new ListObjectsV2Command({ Bucket: process.env['S3_BUCKET'], Prefix: prefix }),
    );
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    const anchorSeqs = keys.map((key) => Number(/(\d{16})-[0-9a-f]{64}\.json$/.exec(key)![1]));
    expect(anchorSeqs).toEqual(expect.arrayContaining(anchoredSeqs));
    const latestKey = keys[keys.length - 1]!;
    const latest = JSON.parse((await readObject(latestKey)).toString('utf8')) as Record<string, unknown>;
    const verified = await verify();
    expect(latest).toMatchObject({
      formatVersion: 1,
      seq: verified.events,
      hash: verified.head,
      events: verified.events,
    });
    const retention = await s3().send(
      new GetObjectRetentionCommand({ Bucket: process.env['S3_BUCKET'], Key: latestKey }),
    );
    expect(retention.Retention?.Mode).toBe('GOVERNANCE');
    expect(verified).toMatchObject({
      ok: true,
      anchors: { checked: keys.length, latest: { key: latestKey } },
    });

    // 1. one event changed in place: its hash no longer matches
    const victim = anchoredSeqs[0]! + 2; // inside the second teardown, below the second anchor
    await asSuperuser(async (db) => {
      await db.query(
        `UPDATE audit_event SET details = details || '{"reason":"nothing to see"}' WHERE seq = $1`,
        [victim],
      );
    });
    const changed = await verify();
    expect(changed).toMatchObject({
      ok: false,
      firstBad: { seq: victim, reason: 'hash does not match the event' },
    });

    // 2. the whole chain rewritten consistently around the change: the walk finds nothing...
    await asSuperuser(async (db) => {
      const rows = (await db.query<AuditRow>('SELECT * FROM audit_event ORDER BY seq')).rows;
      let prevHash = '0'.repeat(64);
      for (const row of rows) {
        const event: Omit<AuditEvent, 'hash' | 'prevHash'> = {
          id: row.id,
          seq: Number(row.seq),
          at: row.at.toISOString(),
          actor: row.actor,
          teardownId: row.teardown_id,
          workflowId: row.workflow_id,
          type: row.type as AuditEvent['type'],
          details: row.details,
        };
        const hash = auditHash(prevHash, event);
        await db.query('UPDATE audit_event SET prev_hash = $1, hash = $2 WHERE seq = $3', [
          prevHash,
          hash,
          row.seq,
        ]);
        prevHash = hash;
      }
    });
    // ...but the first anchor at or after the change disagrees with it
    const firstAnchorAfter = Math.min(...anchorSeqs.filter((seq) => seq >= victim));
    const rewritten = await verify();
    expect(rewritten).toMatchObject({
      ok: false,
      firstBad: {
        seq: firstAnchorAfter,
        reason: expect.stringContaining(
          `differs from anchor ${prefix}${String(firstAnchorAfter).padStart(16, '0')}-`,
        ),
      },
    });
    const lastAnchorBefore = Math.max(...anchorSeqs.filter((seq) => seq < victim));
    expect(rewritten.firstBad?.reason).toContain(
      `still agrees with ${prefix}${String(lastAnchorBefore).padStart(16, '0')}-`,
    );
  });
});

describe('audit anchors keep up with events caused through the API (e2e)', () => {
  let sim: DialnexaSimulator;
  let service: RunningService;
  let client: ReturnType<typeof api>;

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 0, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await startService(serviceEnv(sim.url, { AUDIT_ANCHOR_INTERVAL_S: '3' }));
    client = api(service.url);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.stop();
  });

  it('anchors an API event within the interval, so deleting the newest rows makes verify answer ok: false', async () => {
    // a hold is an event no teardown's end anchors: only the interval covers it
    const workflowId = sim.addWorkflow({ nodes: 1, edges: 0, leads: 1 });
    const placed = await client.call('POST', '/v1/holds', {
      key: KEYS.admin,
      body: { workflowId, reason: 'anchored by the interval' },
    });
    expect(placed.status).toBe(201);
    const placedAt = Date.now();
    let verified: Verification;
    for (;;) {
      verified = (await client.call<Verification>('GET', '/v1/audit/verify', { key: KEYS.auditor })).body;
      if (verified.ok && verified.anchors.latest?.seq === verified.events) break;
      if (Date.now() - placedAt > 60_000)
        throw new Error(`not anchored within a minute: ${JSON.stringify(verified)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(verified.events).toBe(1);

    // the superuser removes the newest event: the anchor still names it
    await asSuperuser(async (db) => {
      await db.query('DELETE FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event)');
    });
    const after = (await client.call<Verification>('GET', '/v1/audit/verify', { key: KEYS.auditor })).body;
    expect(after).toMatchObject({
      ok: false,
      firstBad: { seq: 1, reason: expect.stringContaining('is missing, but anchor') },
    });
  });
});
