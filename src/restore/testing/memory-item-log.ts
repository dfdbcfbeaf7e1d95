import type { RestoreItem, RestoreItemKind } from '../restore.js';
import type { RestoreItemLog } from '../restore-item-log.js';

/**
 * The intent log in memory. `crashAfterCalls(n)` makes the n-th write from now throw, as a process
 * that dies there would: the request before it went out, its result was never recorded.
 */
export class MemoryItemLog implements RestoreItemLog {
  readonly rows = new Map<string, RestoreItem>();
  private crashIn: number | null = null;

  crashAfterCalls(n: number): void {
    this.crashIn = n;
  }

  items(): Promise<RestoreItem[]> {
    return Promise.resolve([...this.rows.values()].map((r) => ({ ...r })));
  }

  intend(kind: RestoreItemKind, seq: number, oldId: string): Promise<RestoreItem> {
    this.maybeCrash();
    const key = `${kind}:${seq}`;
    const row = this.rows.get(key) ?? { kind, seq, oldId, newId: null, intendedAt: new Date(), leads: null };
    this.rows.set(key, row);
    return Promise.resolve({ ...row });
  }

  record(kind: RestoreItemKind, seq: number, newId: string, leads?: Record<string, string>): Promise<void> {
    this.maybeCrash();
    const row = this.rows.get(`${kind}:${seq}`);
    if (!row) throw new Error(`no intent ${kind}:${seq}`);
    row.newId = newId;
    row.leads = leads ?? null;
    return Promise.resolve();
  }

  withdraw(kind: RestoreItemKind, seq: number): Promise<void> {
    this.rows.delete(`${kind}:${seq}`);
    return Promise.resolve();
  }

  private maybeCrash(): void {
    if (this.crashIn === null) return;
    this.crashIn -= 1;
    if (this.crashIn < 0) {
      this.crashIn = null;
      throw new Error('crash');
    }
  }
}
