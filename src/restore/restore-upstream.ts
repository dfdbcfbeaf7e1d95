import type { JsonObject } from '../common/json.js';
import { isDomainError } from '../common/domain-error.js';
import type { KnownRateLimit } from '../dialnexa/rate-window.js';
import type { CreateRequestOptions, RequestOptions } from '../dialnexa/dialnexa.client.js';
import type { LeadUpload, NewEdge, NewNode, NewWorkflow } from '../dialnexa/dialnexa.types.js';

export type { NewEdge, NewNode };

/**
 * The DialNexa calls a restore makes: DialnexaClient implements it. None of the creates is
 * idempotent upstream, and the client never resends one whose outcome it did not see: it throws
 * UPSTREAM_OUTCOME_UNKNOWN instead (see `outcomeUnknown`).
 */
export interface RestoreUpstream {
  createWorkflow(body: NewWorkflow, opts?: CreateRequestOptions): Promise<JsonObject>;
  createNode(workflowId: string, body: NewNode, opts?: CreateRequestOptions): Promise<JsonObject>;
  createEdge(workflowId: string, body: NewEdge, opts?: CreateRequestOptions): Promise<JsonObject>;
  uploadLeads(workflowId: string, csv: Uint8Array, opts?: CreateRequestOptions): Promise<LeadUpload>;
  listAll(
    workflowId: string,
    resource: 'nodes' | 'edges',
    opts?: RequestOptions,
  ): Promise<{ items: JsonObject[]; total: number | undefined }>;
  pages(workflowId: string, resource: 'leads', opts?: RequestOptions): AsyncIterable<{ items: JsonObject[] }>;
  knownRateLimit(): KnownRateLimit | null;
}

export const RESTORE_UPSTREAM = Symbol('RESTORE_UPSTREAM');

/**
 * Whether a failed create may nonetheless have been performed upstream. Any answer DialNexa gave
 * (400, 403, 404, 409, 413, 429) says it was not; only a request whose answer never came may have
 * been (the client marks it UPSTREAM_OUTCOME_UNKNOWN). An error that is no DomainError (a bug, a
 * lost lease's abort) is treated as unknown too: the lookup that follows costs one list request.
 */
export function outcomeUnknown(error: unknown): boolean {
  if (!isDomainError(error)) return true;
  return error.code === 'UPSTREAM_OUTCOME_UNKNOWN' || error.code === 'LEASE_LOST';
}
