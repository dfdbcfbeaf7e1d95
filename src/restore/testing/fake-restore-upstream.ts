import { DomainError } from '../../common/domain-error.js';
import type { JsonObject } from '../../common/json.js';
import type { CreateRequestOptions } from '../../dialnexa/dialnexa.client.js';
import type { NewEdge, NewNode, RestoreUpstream } from '../restore-upstream.js';

type Create = 'workflow' | 'node' | 'edge' | 'leads';

/**
 * How the next create of a kind fails: `refused` (DialNexa answered 400: nothing created),
 * `lost` (performed upstream, answer lost: UPSTREAM_OUTCOME_UNKNOWN), `unsent` (unknown outcome,
 * but nothing performed), `aborted` (the signal ended the wait at the rate gate: rejected with the
 * abort's reason before `beforeSend` ran, nothing sent).
 */
export type FakeFailure = 'refused' | 'lost' | 'unsent' | 'aborted';

/** DialNexa's create endpoints in memory, with ids minted in order, for the restore's unit tests. */
export class FakeRestoreUpstream implements RestoreUpstream {
  readonly workflows = new Map<string, JsonObject>();
  readonly nodes = new Map<string, JsonObject[]>();
  readonly edges = new Map<string, JsonObject[]>();
  readonly leads = new Map<string, JsonObject[]>();
  readonly calls: string[] = [];
  private readonly failures = new Map<Create, FakeFailure>();
  private next = 0;

  failNext(kind: Create, failure: FakeFailure): void {
    this.failures.set(kind, failure);
  }

  /** Every create sent, counted by kind. */
  creates(kind: Create): number {
    return this.calls.filter((c) => c === `create:${kind}`).length;
  }

  createWorkflow(
    body: { title: string; description: string | null },
    opts: CreateRequestOptions = {},
  ): Promise<JsonObject> {
    return this.perform('workflow', opts, () => {
      const id = this.mint('wfl');
      const workflow = { id, ...body, status: 'draft' };
      this.workflows.set(id, workflow);
      this.nodes.set(id, []);
      this.edges.set(id, []);
      this.leads.set(id, []);
      return workflow;
    });
  }

  createNode(workflowId: string, body: NewNode, opts: CreateRequestOptions = {}): Promise<JsonObject> {
    return this.perform('node', opts, () => {
      const node = { id: this.mint('node'), workflow_id: workflowId, ...body } as unknown as JsonObject;
      this.of(this.nodes, workflowId).push(node);
      return node;
    });
  }

  createEdge(workflowId: string, body: NewEdge, opts: CreateRequestOptions = {}): Promise<JsonObject> {
    return this.perform('edge', opts, () => {
      const list = this.of(this.edges, workflowId);
      const label = body.label ?? null;
      if (
        list.some(
          (e) =>
            e['from_node_id'] === body.from_node_id &&
            e['to_node_id'] === body.to_node_id &&
            e['label'] === label,
        )
      ) {
        throw new DomainError('UPSTREAM_CONFLICT', 'DialNexa answered 409: the edge exists');
      }
      const edge = { id: this.mint('edge'), ...body, label };
      list.push(edge);
      return edge;
    });
  }

  uploadLeads(
    workflowId: string,
    csv: Uint8Array,
    opts: CreateRequestOptions = {},
  ): Promise<{ leadIdsByPhone: Record<string, string[]>; count: number }> {
    return this.perform('leads', opts, () => {
      // the test encoder writes one phone number per line
      const phones = Buffer.from(csv).toString('utf8').split('\n').slice(1).filter(Boolean);
      const leadIdsByPhone: Record<string, string[]> = {};
      for (const phone of phones) {
        const id = this.mint('wlead');
        this.of(this.leads, workflowId).push({ id, phone_number: phone, status: 'pending' });
        (leadIdsByPhone[phone] ??= []).push(id);
      }
      return { leadIdsByPhone, count: phones.length };
    });
  }

  listAll(workflowId: string, resource: 'nodes' | 'edges'): Promise<{ items: JsonObject[]; total: number }> {
    this.calls.push(`list:${resource}`);
    const items = [...this.of(resource === 'nodes' ? this.nodes : this.edges, workflowId)];
    return Promise.resolve({ items, total: items.length });
  }

  async *pages(workflowId: string): AsyncIterable<{ items: JsonObject[] }> {
    this.calls.push('list:leads');
    await Promise.resolve();
    yield { items: [...this.of(this.leads, workflowId)] };
  }

  knownRateLimit() {
    return { limit: 10, windowMs: 1000 };
  }

  /** As DialNexaClient sends a create: the rate gate, then `beforeSend`, then the request. */
  private async perform<T>(kind: Create, opts: CreateRequestOptions, create: () => T): Promise<T> {
    await Promise.resolve();
    const failure = this.failures.get(kind);
    this.failures.delete(kind);
    if (failure === 'aborted') throw new Error('aborted while waiting at the rate gate');
    await opts.beforeSend?.();
    this.calls.push(`create:${kind}`);
    if (failure === 'refused') throw new DomainError('UPSTREAM_BAD_REQUEST', 'DialNexa answered 400');
    if (failure === 'unsent') throw unknownOutcome();
    const result = create();
    if (failure === 'lost') throw unknownOutcome();
    return result;
  }

  private of(map: Map<string, JsonObject[]>, workflowId: string): JsonObject[] {
    const list = map.get(workflowId);
    if (!list)
      throw new DomainError('UPSTREAM_NOT_FOUND', `DialNexa answered 404: no workflow ${workflowId}`);
    return list;
  }

  private mint(prefix: string): string {
    this.next += 1;
    return `${prefix}_new${String(this.next).padStart(4, '0')}`;
  }
}

function unknownOutcome(): DomainError {
  return new DomainError('UPSTREAM_OUTCOME_UNKNOWN', 'the connection was reset before an answer', {
    retryable: true,
  });
}

/** A leads encoder for tests: a `phone_number` column only; leads whose phone is `bad` are refused. */
export function phoneOnlyCsv(leads: readonly JsonObject[]) {
  const rejected = leads
    .filter((l) => l['phone_number'] === 'bad')
    .map((lead) => ({ lead, reason: 'not encodable' }));
  const rows = leads.filter((l) => l['phone_number'] !== 'bad').map((l) => String(l['phone_number']));
  return { csv: Buffer.from(['phone_number', ...rows, ''].join('\n'), 'utf8'), rejected };
}
