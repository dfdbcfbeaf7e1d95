import type { NewAuditEvent } from '../../audit/audit-event.js';
import type { Restore } from '../restore.js';
import type { RestoreItemLog } from '../restore-item-log.js';
import type { RestorePatch, RestoreRepository } from '../restore.repository.js';
import { MemoryItemLog } from './memory-item-log.js';

/** The restore table and its intent log in memory, with the audit events its changes append. */
export class FakeRestoreRepository {
  readonly events: NewAuditEvent[] = [];
  readonly log = new MemoryItemLog();

  constructor(public restore: Restore) {}

  asRepository(): RestoreRepository {
    return this as unknown as RestoreRepository;
  }

  claim(): Promise<Restore | null> {
    this.restore = {
      ...this.restore,
      fencingToken: this.restore.fencingToken + 1n,
      claimsSinceProgress: this.restore.claimsSinceProgress + 1,
    };
    return Promise.resolve(this.restore);
  }

  renewLease(): Promise<boolean> {
    return Promise.resolve(true);
  }

  holdsLease(): Promise<boolean> {
    return Promise.resolve(true);
  }

  release(): Promise<void> {
    return Promise.resolve();
  }

  update(_restore: Restore, patch: RestorePatch, events: NewAuditEvent[] = []): Promise<Restore> {
    const { progressed, ...fields } = patch;
    this.restore = {
      ...this.restore,
      ...fields,
      ...(progressed ? { claimsSinceProgress: 0 } : {}),
      updatedAt: new Date(),
    };
    this.events.push(...events);
    return Promise.resolve(this.restore);
  }

  itemLog(): RestoreItemLog {
    return this.log;
  }

  items() {
    return this.log.items();
  }
}
