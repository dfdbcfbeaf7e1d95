import type { RestoreItem, RestoreItemKind } from './restore.js';

/**
 * The intent log of one restore's run (RestoreRepository implements it, fenced by the run's
 * lease: a runner that lost its restore can record nothing, and so sends nothing).
 */
export interface RestoreItemLog {
  items(): Promise<RestoreItem[]>;
  /** Written before the request is sent. Writing an intent that exists already changes nothing. */
  intend(kind: RestoreItemKind, seq: number, oldId: string): Promise<RestoreItem>;
  /** The object exists upstream with `newId` (for a leads file: its leads mapped old → new). */
  record(kind: RestoreItemKind, seq: number, newId: string, leads?: Record<string, string>): Promise<void>;
  /** DialNexa refused the request: nothing was created, the intent is dropped. */
  withdraw(kind: RestoreItemKind, seq: number): Promise<void>;
}
