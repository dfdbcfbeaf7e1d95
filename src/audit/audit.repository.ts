import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { toStorableJson, toStorableText } from '../common/text.js';
import { prismaOf } from '../db/prisma-unit-of-work.js';
import { type Prisma, PrismaService } from '../db/prisma.service.js';
import type { Transaction } from '../db/unit-of-work.js';
import type { AuditEvent, AuditEventType, NewAuditEvent } from './audit-event.js';
import { auditHash, GENESIS_HASH } from './audit-hash.js';

type Tx = Prisma.TransactionClient;

/** Serialises appends across processes, so the hash chain never forks. */
const CHAIN_LOCK_KEY = 0x617564_6974n; // "audit"

export interface AuditFilter {
  teardownId?: string;
  workflowId?: string;
  type?: AuditEventType;
}

export type ChainVerification =
  | { ok: true; events: number; head: string }
  | { ok: false; events: number; firstBad: { seq: number; id: string; reason: string } };

/**
 * The audit trail: append-only (a database trigger refuses UPDATE, DELETE and TRUNCATE) and hash
 * chained. Events that belong with a state change are appended in the same transaction as it,
 * through `appendWithin`: the module making the change hands its opaque Transaction (see
 * UnitOfWork), never its Prisma client.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  async append(events: NewAuditEvent[]): Promise<AuditEvent[]> {
    return this.prisma.$transaction((tx) => appendInTransaction(tx, events));
  }

  /** Appends as part of a change another module makes in `tx` (see UnitOfWork). */
  async appendWithin(tx: Transaction, events: NewAuditEvent[]): Promise<AuditEvent[]> {
    return appendInTransaction(prismaOf(tx), events);
  }

  /** Whether the teardown's event of `type` is committed, read inside the caller's transaction. */
  async hasWithin(tx: Transaction, teardownId: string, type: AuditEventType): Promise<boolean> {
    return (await prismaOf(tx).auditEvent.count({ where: { teardownId, type } })) > 0;
  }

  async list(filter: AuditFilter, limit: number, afterSeq?: number): Promise<AuditEvent[]> {
    const rows = await this.prisma.auditEvent.findMany({
      where: {
        teardownId: filter.teardownId,
        workflowId: filter.workflowId,
        type: filter.type,
        seq: afterSeq === undefined ? undefined : { gt: BigInt(afterSeq) },
      },
      orderBy: { seq: 'asc' },
      take: limit,
    });
    return rows.map(toDomain);
  }

  async forTeardown(teardownId: string): Promise<AuditEvent[]> {
    const rows = await this.prisma.auditEvent.findMany({ where: { teardownId }, orderBy: { seq: 'asc' } });
    return rows.map(toDomain);
  }

  async has(teardownId: string, type: AuditEventType): Promise<boolean> {
    return (await this.prisma.auditEvent.count({ where: { teardownId, type } })) > 0;
  }

  /** The last event of the chain and the number of events, or null while the chain is empty. */
  async head(): Promise<{ seq: number; hash: string; events: number } | null> {
    const [head, events] = await Promise.all([
      this.prisma.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, hash: true } }),
      this.prisma.auditEvent.count(),
    ]);
    return head ? { seq: Number(head.seq), hash: head.hash, events } : null;
  }

  /** The seq of the chain's newest event (0 while empty): one index lookup, no count. */
  async headSeq(): Promise<number> {
    const head = await this.prisma.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
    return head ? Number(head.seq) : 0;
  }

  /** The id and hash of the events at these positions; absent positions are left out. */
  async hashesAt(seqs: readonly number[]): Promise<Map<number, { id: string; hash: string }>> {
    const found = new Map<number, { id: string; hash: string }>();
    const unique = [...new Set(seqs)];
    for (let i = 0; i < unique.length; i += 1000) {
      const rows = await this.prisma.auditEvent.findMany({
        where: { seq: { in: unique.slice(i, i + 1000).map((seq) => BigInt(seq)) } },
        select: { seq: true, id: true, hash: true },
      });
      for (const row of rows) found.set(Number(row.seq), { id: row.id, hash: row.hash });
    }
    return found;
  }

  /** The oldest event after `seq` (the first not covered by an anchor at `seq`), if any. */
  async firstAfter(seq: number): Promise<{ seq: number; at: Date } | null> {
    const row = await this.prisma.auditEvent.findFirst({
      where: { seq: { gt: BigInt(seq) } },
      orderBy: { seq: 'asc' },
      select: { seq: true, at: true },
    });
    return row ? { seq: Number(row.seq), at: row.at } : null;
  }

  /** Walks the whole chain in order and names the first event whose hash or link is wrong. */
  async verifyChain(batchSize = 1000): Promise<ChainVerification> {
    return this.verifyFrom({ seq: 0, hash: GENESIS_HASH }, batchSize);
  }

  /**
   * Walks the chain after a known point (an anchor: the event at `from.seq` had `from.hash`), so
   * that anchoring can check the stretch it is about to lock in without walking the whole chain.
   * The event at `from.seq` itself must still carry `from.hash`.
   */
  async verifyFrom(from: { seq: number; hash: string }, batchSize = 1000): Promise<ChainVerification> {
    if (from.seq > 0) {
      const at = await this.prisma.auditEvent.findUnique({
        where: { seq: BigInt(from.seq) },
        select: { id: true, hash: true },
      });
      if (at?.hash !== from.hash) {
        return {
          ok: false,
          events: 0,
          firstBad: {
            seq: from.seq,
            id: at?.id ?? '',
            reason: at ? 'differs from its anchor' : 'is missing, but an anchor names it',
          },
        };
      }
    }
    let prev = from.hash;
    let expectedSeq = from.seq + 1;
    let events = 0;
    for (;;) {
      const rows = await this.prisma.auditEvent.findMany({
        where: { seq: { gte: BigInt(expectedSeq) } },
        orderBy: { seq: 'asc' },
        take: batchSize,
      });
      if (rows.length === 0) return { ok: true, events, head: prev };
      for (const row of rows) {
        const event = toDomain(row);
        const bad = (reason: string): ChainVerification => ({
          ok: false,
          events,
          firstBad: { seq: event.seq, id: event.id, reason },
        });
        if (event.seq !== expectedSeq) return bad(`expected seq ${expectedSeq}: events are missing`);
        if (event.prevHash !== prev) return bad('prevHash does not match the previous event');
        if (auditHash(prev, event) !== event.hash) return bad('hash does not match the event');
        prev = event.hash;
        expectedSeq += 1;
        events += 1;
      }
    }
  }
}

/** Appends to the chain in `tx`, under its lock. Other modules go through `appendWithin`. */
async function appendInTransaction(tx: Tx, events: NewAuditEvent[]): Promise<AuditEvent[]> {
  if (events.length === 0) return [];
  await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(${CHAIN_LOCK_KEY})) AS l`;
  const head = await tx.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, hash: true } });
  let prevHash = head?.hash ?? GENESIS_HASH;
  let seq = Number(head?.seq ?? 0n);
  const written: AuditEvent[] = [];
  for (const event of events) {
    seq += 1;
    // Details often quote DialNexa (an error message, a lead field). PostgreSQL refuses U+0000 and
    // lone surrogates in jsonb, and a refused append loses the fact it records (a failure never
    // recorded is a cancel sent again), so they are made storable here. This happens before the
    // hash: what is hashed is exactly what is stored, and verifyChain recomputes the same hash.
    const unhashed = {
      ...event,
      actor: toStorableText(event.actor),
      id: randomUUID(),
      seq,
      at: new Date().toISOString(),
      details: toStorableJson(JSON.parse(JSON.stringify(event.details))) as Record<string, unknown>,
    };
    const full: AuditEvent = { ...unhashed, prevHash, hash: auditHash(prevHash, unhashed) };
    // Raw SQL, not `auditEvent.create`: Prisma's JSON input handling drops an own `__proto__` key,
    // so the stored details would differ from the hashed ones. Here the text stored is the one
    // JSON.stringify gives, and jsonb parses it back to the same value that was hashed.
    await tx.$executeRaw`
      INSERT INTO audit_event (seq, id, at, actor, teardown_id, workflow_id, type, details, prev_hash, hash)
      VALUES (${BigInt(full.seq)}, ${full.id}::uuid, ${full.at}::timestamptz, ${full.actor},
              ${full.teardownId}, ${full.workflowId}, ${full.type}, ${JSON.stringify(full.details)}::jsonb,
              ${full.prevHash}, ${full.hash})`;
    written.push(full);
    prevHash = full.hash;
  }
  return written;
}

interface AuditRow {
  seq: bigint;
  id: string;
  at: Date;
  actor: string;
  teardownId: string | null;
  workflowId: string | null;
  type: string;
  details: unknown;
  prevHash: string;
  hash: string;
}

function toDomain(row: AuditRow): AuditEvent {
  return {
    id: row.id,
    seq: Number(row.seq),
    at: row.at.toISOString(),
    actor: row.actor,
    teardownId: row.teardownId,
    workflowId: row.workflowId,
    type: row.type as AuditEventType,
    details: (row.details ?? {}) as Record<string, unknown>,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
