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

/** `POST /v1/workflows`: the client always adds `status: "draft"`. */
export interface NewWorkflow {
  title: string;
  description: string | null;
}

/** `POST /v1/workflows/{id}/nodes`: the server mints the id. */
export interface NewNode {
  node_type: string;
  label: string;
  position_x: number;
  position_y: number;
  config: JsonObject;
}

/** `POST /v1/workflows/{id}/edges`: a null or absent `label` is not sent (an unlabelled edge). */
export interface NewEdge {
  from_node_id: string;
  to_node_id: string;
  label?: string | null;
}

/** The answer to a lead upload: the new lead ids of each phone number, as DialNexa keyed them. */
export interface LeadUpload {
  leadIdsByPhone: Record<string, string[]>;
  /** DialNexa's own count of leads created (the number of ids when it sends none). */
  count: number;
}

/** `already_gone`: DialNexa answered 404, the node or edge (or its workflow) no longer exists. */
export type RemoveOutcome = 'deleted' | 'already_gone';
