import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.js';
import { prismaOf } from './prisma-unit-of-work.js';
import { PrismaService } from './prisma.service.js';
import type { Transaction } from './unit-of-work.js';

/** How long a POST's Idempotency-Key is remembered, per caller. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface IdempotencyClaim {
  caller: string;
  key: string;
  requestHash: string;
}

/**
 * What a key was used for in the last 24 hours: nothing (`fresh`), the same request (`replay`:
 * answer with the resource it created) or another request (`reused`: refuse).
 */
export type IdempotencyLookup =
  { kind: 'fresh' } | { kind: 'replay'; resourceId: string } | { kind: 'reused'; resourceId: string };

/**
 * The request hash of a POST body. `scope` names the route for routes other than the first
 * (teardowns, whose hashes predate it): the same body sent to two routes is two requests.
 */
export function requestHashOf(body: unknown, scope?: string): string {
  const hash = createHash('sha256');
  if (scope) hash.update(`${scope}\n`);
  return hash.update(canonicalJson(body)).digest('hex');
}

/**
 * The one door to the Idempotency-Key records of every POST that creates a resource (teardowns,
 * restores). Used inside the creating request's unit of work: `lookupWithin` first, then, when
 * the resource was created, `recordWithin`, so that the record and the resource commit together.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Concurrent requests with one key wait here for each other, then see the first one's answer. */
  async lookupWithin(t: Transaction, claim: IdempotencyClaim): Promise<IdempotencyLookup> {
    const tx = prismaOf(t);
    await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`idem:${claim.caller}:${claim.key}`}, 0))) AS l`;
    const previous = await tx.idempotencyRecord.findUnique({
      where: { caller_key: { caller: claim.caller, key: claim.key } },
    });
    if (!previous || previous.createdAt.getTime() <= Date.now() - IDEMPOTENCY_TTL_MS) {
      return { kind: 'fresh' };
    }
    if (previous.requestHash !== claim.requestHash) {
      return { kind: 'reused', resourceId: previous.teardownId };
    }
    return { kind: 'replay', resourceId: previous.teardownId };
  }

  /** Remembers the resource the key created; replaces an expired record (or one whose resource is gone). */
  async recordWithin(t: Transaction, claim: IdempotencyClaim, resourceId: string): Promise<void> {
    const data = { requestHash: claim.requestHash, teardownId: resourceId, createdAt: new Date() };
    await prismaOf(t).idempotencyRecord.upsert({
      where: { caller_key: { caller: claim.caller, key: claim.key } },
      create: { caller: claim.caller, key: claim.key, ...data },
      update: data,
    });
  }

  async purgeExpired(): Promise<number> {
    const purged = await this.prisma.idempotencyRecord.deleteMany({
      where: { createdAt: { lt: new Date(Date.now() - IDEMPOTENCY_TTL_MS) } },
    });
    return purged.count;
  }
}
