import type {
  DestructiveRequestOptions,
  DialnexaClient,
  RequestOptions,
} from '../../dialnexa/dialnexa.client.js';
import { upstreamStatusError, upstreamTransportError } from '../../dialnexa/dialnexa.error.js';
import type { CancelOutcome, DialnexaResource, JsonObject, ListPage } from '../../dialnexa/dialnexa.types.js';
import { realSleep } from '../../dialnexa/rate-limit.gate.js';
import type { KnownRateLimit } from '../../dialnexa/rate-window.js';

/**
 * What DialNexa does with one cancel or DELETE attempt: answers with a status, or never answers
 * (the connection dropped; `noAnswer` is the socket error's code). What happens in the world
 * meanwhile: `inFlight` runs while the request is on its way, `then` once the client has handled
 * the answer, before any resend.
 */
export type ScriptedAnswer = ({ status: number } | { noAnswer: string }) & {
  inFlight?: () => void;
  then?: () => void;
};

type Destructive = 'cancel' | 'delete';

/**
 * DialnexaClient without a network. It records every request it sends (`requests`), answers GETs
 * from its `nodes` and `leads`, and answers cancels and DELETEs from a script (200 when the
 * script is empty). The destructive requests follow the real client's `send()` loop: the wait of
 * the rate gate (after a 429), the abort check, `beforeSend`, the request, `afterAnswer(status)`,
 * and a resend after a 429 while attempts remain; an unanswered request is never resent.
 */
export class FakeDialnexaClient {
  readonly requests: string[] = [];
  /** How long the rate gate holds a resend back after a 429. */
  rateLimitWaitMs = 5;
  nodes: JsonObject[] = [
    { id: 'node_call', node_type: 'CALL' },
    { id: 'node_won', node_type: 'CONVERTED' },
  ];
  edges: JsonObject[] = [{ id: 'edge_1', from: 'node_call', to: 'node_won' }];
  leads: JsonObject[] = [
    { id: 'wlead_1', status: 'completed', current_node_id: 'node_won' },
    { id: 'wlead_2', status: 'completed', current_node_id: 'node_won' },
  ];
  private readonly scripts: Record<Destructive, ScriptedAnswer[]> = { cancel: [], delete: [] };

  /** `timeline` receives each request too, beside the fake repository's audit commits. */
  constructor(
    private readonly maxAttempts: number,
    private readonly timeline: string[] = [],
  ) {}

  answerCancel(...answers: ScriptedAnswer[]): this {
    this.scripts.cancel.push(...answers);
    return this;
  }

  answerDelete(...answers: ScriptedAnswer[]): this {
    this.scripts.delete.push(...answers);
    return this;
  }

  /** The cancels and DELETEs that left the process. */
  destructiveRequests(): string[] {
    return this.requests.filter((r) => r === 'POST cancel' || r === 'DELETE');
  }

  /** What the client would have learnt of the key's limit from DialNexa's answers. */
  rateLimit: KnownRateLimit | null = null;

  knownRateLimit(): KnownRateLimit | null {
    return this.rateLimit;
  }

  async getWorkflow(workflowId: string, opts: RequestOptions = {}): Promise<JsonObject> {
    this.record('GET workflow', opts);
    return { id: workflowId, name: '30-Day Lead Nurture', status: 'active' };
  }

  async listAll(
    _workflowId: string,
    resource: 'nodes' | 'edges',
    opts: RequestOptions = {},
  ): Promise<{ items: JsonObject[]; total: number | undefined }> {
    this.record(`GET ${resource}`, opts);
    const items = resource === 'nodes' ? this.nodes : this.edges;
    return { items: structuredClone(items), total: items.length };
  }

  async *pages(
    _workflowId: string,
    resource: DialnexaResource,
    opts: RequestOptions & { status?: string } = {},
  ): AsyncGenerator<ListPage> {
    this.record(`GET ${resource}${opts.status === undefined ? '' : `?status=${opts.status}`}`, opts);
    const all = resource === 'leads' ? this.leads : resource === 'nodes' ? this.nodes : this.edges;
    const items = all.filter((item) => opts.status === undefined || item['status'] === opts.status);
    yield {
      items: structuredClone(items),
      meta: { page: 1, limit: 100, total: items.length, totalPages: 1 },
      page: 1,
    };
  }

  async count(
    _workflowId: string,
    resource: DialnexaResource,
    opts: RequestOptions & { status?: string } = {},
  ): Promise<number> {
    this.record(`GET ${resource}?status=${opts.status}&limit=1`, opts);
    const all = resource === 'leads' ? this.leads : resource === 'nodes' ? this.nodes : this.edges;
    return all.filter((item) => opts.status === undefined || item['status'] === opts.status).length;
  }

  async getLeadHistory(_workflowId: string, leadId: string, opts: RequestOptions = {}): Promise<JsonObject> {
    this.record(`GET leads/${leadId}/history`, opts);
    return { lead_id: leadId, events: [] };
  }

  async cancelWorkflow(workflowId: string, opts: DestructiveRequestOptions): Promise<CancelOutcome> {
    const path = `/v1/workflows/${workflowId}/cancel`;
    const status = await this.send('cancel', 'POST', path, opts);
    if (status >= 200 && status < 300) return 'cancelled';
    if (status === 409) return 'already_terminal';
    throw upstreamStatusError(status, { method: 'POST', path }, undefined);
  }

  async deleteWorkflow(workflowId: string, opts: DestructiveRequestOptions): Promise<void> {
    const path = `/v1/workflows/${workflowId}`;
    const status = await this.send('delete', 'DELETE', path, opts);
    if (status >= 200 && status < 300) return;
    throw upstreamStatusError(status, { method: 'DELETE', path }, undefined);
  }

  asClient(): DialnexaClient {
    return this as unknown as DialnexaClient;
  }

  private async send(
    kind: Destructive,
    method: 'POST' | 'DELETE',
    path: string,
    { signal, beforeSend, afterAnswer, tally }: DestructiveRequestOptions,
  ): Promise<number> {
    for (let rateLimited = 0; ;) {
      if (rateLimited > 0) await realSleep(this.rateLimitWaitMs, signal);
      if (signal?.aborted) throw signal.reason;
      await beforeSend();
      this.record(kind === 'cancel' ? 'POST cancel' : 'DELETE', { tally });
      const answer = this.scripts[kind].shift() ?? { status: 200 };
      answer.inFlight?.();
      if ('noAnswer' in answer) {
        answer.then?.();
        if (signal?.aborted) throw signal.reason;
        const cause = Object.assign(new Error(`socket ${answer.noAnswer}`), { code: answer.noAnswer });
        throw upstreamTransportError(cause, { method, path }, '').error;
      }
      await afterAnswer(answer.status);
      answer.then?.();
      if (answer.status === 429 && rateLimited + 1 < this.maxAttempts) {
        rateLimited += 1;
        continue;
      }
      return answer.status;
    }
  }

  private record(request: string, opts: RequestOptions = {}): void {
    opts.tally?.add();
    this.requests.push(request);
    this.timeline.push(request);
  }
}
