declare const transaction: unique symbol;

/**
 * A database transaction in progress, as modules hand it to each other. It is opaque on purpose:
 * no Prisma type crosses a module boundary, so a module can take part in another module's
 * transaction only through the repository methods that accept a `Transaction`, each writing its
 * own tables. Only repositories open it (`prismaOf`, prisma-unit-of-work.ts).
 */
export interface Transaction {
  readonly [transaction]: true;
}

/**
 * The port a use case spanning modules injects to make their writes one atomic change (an
 * approval, the teardown's new status and the audit event commit together or not at all).
 */
export abstract class UnitOfWork {
  abstract run<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
}
