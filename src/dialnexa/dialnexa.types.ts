/** A JSON object exactly as DialNexa served it: every field kept, known or not. */
export type JsonObject = Record<string, unknown>;

/** DialNexa's paging meta, `{page, limit, total, totalPages}`. */
export interface PageMeta {
  page: number;
  limit: number;
  total: number;
  totalPages: number;
}

export interface ListPage {
  items: JsonObject[];
  /** Absent when DialNexa served the list without paging meta: then this one page is the whole list. */
  meta: PageMeta | undefined;
  /** The page number that was asked for (1-based). */
  page: number;
  /**
   * The body as served, and where in it the items are (the object keys leading to their array):
   * lets the archive copy a lead's bytes instead of serialising it again (canonical-lines.ts).
   */
  raw?: { body: Uint8Array; itemsPath: readonly string[] };
}

/** The per-workflow collections the archive reads. */
export type DialnexaResource = 'nodes' | 'edges' | 'leads';

/** `already_terminal`: DialNexa answered 409, the workflow was already completed or cancelled. */
export type CancelOutcome = 'cancelled' | 'already_terminal';
