import { Injectable } from '@nestjs/common';
import { type Prisma, PrismaService } from './prisma.service.js';
import { type Transaction, UnitOfWork } from './unit-of-work.js';

/** Open transactions only: a handle kept past its commit or rollback unwraps to nothing. */
const open = new WeakMap<Transaction, Prisma.TransactionClient>();

/** UnitOfWork over a Prisma interactive transaction. */
@Injectable()
export class PrismaUnitOfWork extends UnitOfWork {
  constructor(private readonly prisma: PrismaService) {
    super();
  }

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (client) => {
      const tx = Object.freeze({}) as Transaction;
      open.set(tx, client);
      try {
        return await work(tx);
      } finally {
        open.delete(tx);
      }
    });
  }
}

/** The Prisma client of an open transaction, for a repository's own queries inside it. */
export function prismaOf(tx: Transaction): Prisma.TransactionClient {
  const client = open.get(tx);
  if (!client) throw new Error('this transaction is no longer open (used after its commit or rollback)');
  return client;
}
