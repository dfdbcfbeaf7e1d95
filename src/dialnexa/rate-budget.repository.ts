import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import { EMPTY_BUDGET, type RateBudgetState } from './rate-budget.js';

/**
 * The transaction is two statements on one row, but every upstream request waits on it: on a
 * loaded machine Prisma's defaults (2 s to start, 5 s to finish) ended some mid-way ("Transaction
 * not found"), losing an answer's update.
 */
const TRANSACTION_LIMITS = { maxWait: 10_000, timeout: 10_000 };

/** The shared rate windows of the DialNexa API keys: one row per key (by its SHA-256). */
@Injectable()
export class RateBudgetRepository {
  private readonly created = new Set<string>();

  constructor(private readonly prisma: PrismaService) {}

  /**
   * Applies `change` to the key's window under a row lock, so replicas take tokens one at a time,
   * and returns what it returned. `change` must be pure: it may run again if the row is retried.
   */
  async apply<T>(
    key: string,
    change: (state: RateBudgetState) => { next: RateBudgetState; result: T },
  ): Promise<T> {
    if (!this.created.has(key)) {
      await this.prisma.$executeRaw`
        INSERT INTO rate_budget (key, state) VALUES (${key}, ${JSON.stringify(EMPTY_BUDGET)}::jsonb)
        ON CONFLICT (key) DO NOTHING`;
      this.created.add(key);
    }
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ state: RateBudgetState }[]>`
        SELECT state FROM rate_budget WHERE key = ${key} FOR UPDATE`;
      const { next, result } = change({ ...EMPTY_BUDGET, ...rows[0]?.state });
      await tx.$executeRaw`
        UPDATE rate_budget SET state = ${JSON.stringify(next)}::jsonb, updated_at = now() WHERE key = ${key}`;
      return result;
    }, TRANSACTION_LIMITS);
  }
}
