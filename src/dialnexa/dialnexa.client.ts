import { Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { type Dispatcher, Pool } from 'undici';
import { DomainError, type ErrorCode, isDomainError } from '../common/domain-error.js';
import { jsonText } from '../common/json-text.js';
import { NO_METRICS, type UpstreamEndpoint, type UpstreamMetrics } from '../ops/metrics.port.js';
import type { AppConfig, DialnexaConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { createdObjectOf, leadUploadOf, multipartFile } from './create-answers.js';
import {
  badResponseError,
  mayHaveBeenPerformed,
  outcomeUnknownError,
  type UpstreamRequestContext,
  upstreamMessageOf,
  upstreamStatusError,
  upstreamTransportError,
} from './dialnexa.error.js';
import type {
  CancelOutcome,
  DialnexaResource,
  JsonObject,
  LeadUpload,
  ListPage,
  NewEdge,
  NewNode,
  NewWorkflow,
  PageMeta,
  RemoveOutcome,
} from './dialnexa.types.js';
import { pagesAhead } from './pages-ahead.js';
import { type KnownRateLimit, RateWindowTracker } from './rate-window.js';
import type { RequestTally } from './request-tally.js';
import {
  type Clock,
  InProcessRateGate,
  type RateGate,
  type RateLimitHeaders,
  realSleep,
  type Sleep,
} from './rate-limit.gate.js';

/** Seams for tests, and for sharing one rate gate across replicas. */
export interface DialnexaClientDeps {
  /** Replaces the client's own pool (tests pass an undici `MockAgent`); the client does not close it. */
  dispatcher?: Dispatcher;
  clock?: Clock;
  sleep?: Sleep;
  /** In [0, 1): the jitter of retry back-off. */
  random?: () => number;
  gate?: RateGate;
  logger?: DialnexaLogger;
  metrics?: UpstreamMetrics;
}

/** The part of Nest's `Logger` this client uses. Lines carry method, path, status and timing: never a body. */
export interface DialnexaLogger {
  debug(message: string): void;
  warn(message: string): void;
}

/** Optional provider token: a module may supply `DialnexaClientDeps` (for instance a shared gate). */
export const DIALNEXA_CLIENT_DEPS = Symbol('DIALNEXA_CLIENT_DEPS');

export interface RequestOptions {
  /** Ends waits and the request in flight; once aborted, nothing more is sent. */
  signal?: AbortSignal;
  /** Counts each attempt sent on behalf of one teardown. */
  tally?: RequestTally;
}

/** For a create (a restore's): `beforeSend` as below, for a caller that must check its lease or record its intent last. */
export interface CreateRequestOptions extends RequestOptions {
  /**
   * Runs right before each attempt's bytes may leave the process: after the rate gate let it
   * through, for the first attempt and every resend after a 429. When it throws, nothing is sent.
   */
  beforeSend?: () => Promise<void>;
}

/** For the requests that change a workflow upstream (cancel, DELETE): see DestructiveCallGate. */
export interface DestructiveRequestOptions extends RequestOptions {
  /**
   * Runs right before each attempt's bytes may leave the process: after the rate gate let it
   * through, for the first attempt and every resend after a 429. When it throws, nothing is sent.
   */
  beforeSend: () => Promise<void>;
  /** Runs once each attempt was answered, with its status, before anything else happens. */
  afterAnswer: (status: number) => Promise<void>;
}

type Method = 'GET' | 'POST' | 'DELETE';

/**
 * How a request may be repeated. GETs (and the DELETE of a node or edge, whose repeat answers 404)
 * are idempotent and are retried on 5xx, resets and timeouts. A cancel, a DELETE of a workflow or a
 * create that got no answer may have been performed: the caller has recorded the attempt and
 * decides, so those are never resent here. A 429 means DialNexa did not perform the request, so
 * every request is resent after the rate-limit wait.
 */
type RetryPolicy = 'idempotent' | 'rate-limit-only' | 'none';

interface Call extends UpstreamRequestContext {
  method: Method;
  body?: { bytes: string | Buffer; contentType: string };
  /**
   * A create, which DialNexa does not deduplicate: a failure after its bytes may have left is
   * `UPSTREAM_OUTCOME_UNKNOWN`, never a plain transport error (see `outcomeUnknownError`).
   */
  creates?: true;
  /** Error codes for statuses whose meaning depends on the endpoint. */
  codeFor?: Partial<Record<number, ErrorCode>>;
  /** The endpoint as a template, for metrics. */
  endpoint: UpstreamEndpoint;
  query?: string;
  retry: RetryPolicy;
  signal?: AbortSignal;
  tally?: RequestTally;
  beforeSend?: () => Promise<void>;
  afterAnswer?: (status: number) => Promise<void>;
}

interface Reply {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  text: string;
  /** The body's bytes, of which `text` is the UTF-8 decoding (without a byte order mark). */
  bytes: Uint8Array;
}

const PAGE_LIMIT = 100;
/** A workflow id that cannot exist: `probe` expects DialNexa to answer it with 404. */
const PROBE_WORKFLOW_ID = 'readyz-probe';

/**
 * An answer that shows DialNexa up and accepting the key, as `probe` would: anything but a
 * refused key (401, 403) or a server error.
 */
function showsReachable(status: number): boolean {
  return status < 500 && status !== 401 && status !== 403;
}

function parseCount(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function header(headers: Reply['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function rateLimitHeaders(headers: Reply['headers']): RateLimitHeaders {
  return {
    limit: header(headers, 'x-ratelimit-limit'),
    remaining: header(headers, 'x-ratelimit-remaining'),
    reset: header(headers, 'x-ratelimit-reset'),
    retryAfter: header(headers, 'retry-after'),
  };
}

/** One path segment; ids are opaque, but an empty or dot segment would address another resource. */
function segment(value: string, what: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new DomainError('VALIDATION_FAILED', `${what} must be a non-empty id`, {
      details: { field: what },
    });
  }
  return encodeURIComponent(value);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * The `{statusCode, message, data}` envelope of DialNexa's second API description, when present.
 * A plain resource never has both a numeric `statusCode` and a `data` key.
 */
function unwrap(body: unknown): { payload: unknown; outerMeta: unknown; payloadPath: string[] } {
  if (isObject(body) && typeof body.statusCode === 'number' && 'data' in body) {
    return { payload: body.data, outerMeta: body.meta, payloadPath: ['data'] };
  }
  return { payload: body, outerMeta: undefined, payloadPath: [] };
}

/** A body as text, decoded as undici's `body.text()` does (UTF-8, a byte order mark dropped). */
function utf8Text(bytes: Uint8Array): string {
  const start = bytes.length > 2 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', start);
}

/**
 * The DialNexa REST API, as the teardown needs it. Every object is returned as served (unknown
 * fields kept); every failure is a `DomainError` whose message and details never carry the key,
 * a query string or a body.
 */
@Injectable()
export class DialnexaClient implements OnApplicationShutdown {
  private readonly config: DialnexaConfig;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly gate: RateGate;
  private readonly logger: DialnexaLogger;
  private readonly metrics: UpstreamMetrics;
  /** When DialNexa last gave an answer that shows it reachable with our key (epoch ms), 0 before. */
  private lastReachableAt = 0;
  private readonly rateWindow = new RateWindowTracker();
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'dialnexa'>,
    @Optional() @Inject(DIALNEXA_CLIENT_DEPS) deps: DialnexaClientDeps | null = null,
  ) {
    const d = deps ?? {};
    this.config = config.dialnexa;
    const base = new URL(this.config.baseUrl);
    this.origin = base.origin;
    // DIALNEXA_BASE_URL is the API root without /v1; it may sit below a path (a proxy, the simulator)
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.clock = d.clock ?? Date.now;
    this.sleep = d.sleep ?? realSleep;
    this.random = d.random ?? Math.random;
    this.gate =
      d.gate ??
      new InProcessRateGate({
        maxWaitMs: this.config.maxRateLimitWaitMs,
        clock: this.clock,
        sleep: this.sleep,
      });
    this.logger = d.logger ?? new Logger(DialnexaClient.name);
    this.metrics = d.metrics ?? NO_METRICS;
    if (d.dispatcher) {
      this.dispatcher = d.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Pool(this.origin, {
        connect: { timeout: this.config.connectTimeoutMs },
        headersTimeout: this.config.headersTimeoutMs,
        bodyTimeout: this.config.bodyTimeoutMs,
      });
      this.ownsDispatcher = true;
    }
  }

  /** For tests and scripts: a client outside Nest. */
  static create(config: DialnexaConfig, deps: DialnexaClientDeps = {}): DialnexaClient {
    return new DialnexaClient({ dialnexa: config }, deps);
  }

  async getWorkflow(workflowId: string, opts: RequestOptions = {}): Promise<JsonObject> {
    const path = this.workflowPath(workflowId);
    return this.getObject(path, 'workflow.get', opts);
  }

  /**
   * The pages of one collection, in order. Page 1 is fetched alone; once the consumer asks for
   * more, up to `pageConcurrency` following pages are requested ahead of it (see `pagesAhead`), so
   * memory stays a few pages whatever the number of leads, and a consumer that stops stops the
   * requests. Paging is over live data: an item may appear on two pages, or be skipped, while the
   * workflow runs.
   */
  pages(
    workflowId: string,
    resource: DialnexaResource,
    opts: RequestOptions & { status?: string; firstPage?: number } = {},
  ): AsyncGenerator<ListPage> {
    const fetchPage = (page: number, signal: AbortSignal | undefined): Promise<() => ListPage> =>
      this.fetchPage(workflowId, resource, page, PAGE_LIMIT, { ...opts, signal });
    return pagesAhead(fetchPage, {
      concurrency: this.config.pageConcurrency,
      signal: opts.signal,
      firstPage: opts.firstPage,
    });
  }

  /**
   * How many items a collection holds (with `status`, how many have it), in one request: page 1
   * with `limit=1`, read for its `meta.total`. A list served without meta is the whole list.
   */
  async count(
    workflowId: string,
    resource: DialnexaResource,
    opts: RequestOptions & { status?: string } = {},
  ): Promise<number> {
    const parse = await this.fetchPage(workflowId, resource, 1, 1, opts);
    const first = parse();
    return first.meta?.total ?? first.items.length;
  }

  private async fetchPage(
    workflowId: string,
    resource: DialnexaResource,
    page: number,
    limit: number,
    opts: RequestOptions & { status?: string },
  ): Promise<() => ListPage> {
    const filter = opts.status === undefined ? '' : `&status=${encodeURIComponent(opts.status)}`;
    const call: Call = {
      method: 'GET',
      endpoint: `${resource}.list`,
      path: `${this.workflowPath(workflowId)}/${resource}`,
      query: `page=${page}&limit=${limit}${filter}`,
      retry: 'idempotent',
      signal: opts.signal,
      tally: opts.tally,
    };
    const reply = await this.send(call);
    if (reply.status < 200 || reply.status >= 300) throw this.statusError(call, reply);
    return () => {
      const { items, meta, itemsPath } = this.parseList(call, reply, page);
      return { items, meta, page, raw: { body: reply.bytes, itemsPath } };
    };
  }

  /** Nodes or edges, which are few: the whole list in memory. `total` is DialNexa's own count. */
  async listAll(
    workflowId: string,
    resource: 'nodes' | 'edges',
    opts: RequestOptions = {},
  ): Promise<{ items: JsonObject[]; total: number | undefined }> {
    const items: JsonObject[] = [];
    let total: number | undefined;
    for await (const page of this.pages(workflowId, resource, opts)) {
      items.push(...page.items);
      total = page.meta?.total;
    }
    return { items, total };
  }

  async getLeadHistory(workflowId: string, leadId: string, opts: RequestOptions = {}): Promise<JsonObject> {
    const path = `${this.workflowPath(workflowId)}/leads/${segment(leadId, 'leadId')}/history`;
    return this.getObject(path, 'lead_history.get', opts);
  }

  /** 409 means already completed or cancelled: for a teardown, the same as a successful cancel. */
  async cancelWorkflow(workflowId: string, opts: DestructiveRequestOptions): Promise<CancelOutcome> {
    const call: Call = {
      method: 'POST',
      endpoint: 'workflow.cancel',
      path: `${this.workflowPath(workflowId)}/cancel`,
      retry: 'rate-limit-only',
      ...opts,
    };
    const reply = await this.send(call);
    if (reply.status >= 200 && reply.status < 300) return 'cancelled';
    if (reply.status === 409) return 'already_terminal';
    throw this.statusError(call, reply);
  }

  /**
   * 404 is an error here: only the caller knows whether it had sent a DELETE before (then the
   * 404 proves the deletion) or never did (then the workflow was never there to delete).
   */
  async deleteWorkflow(workflowId: string, opts: DestructiveRequestOptions): Promise<void> {
    const call: Call = {
      method: 'DELETE',
      endpoint: 'workflow.delete',
      path: this.workflowPath(workflowId),
      retry: 'rate-limit-only',
      ...opts,
    };
    const reply = await this.send(call);
    if (reply.status >= 200 && reply.status < 300) return;
    throw this.statusError(call, reply);
  }

  /**
   * Creates a workflow, always as a draft: a restored workflow must never call anyone until a
   * person activates it. Like every create, never resent once its bytes may have reached DialNexa:
   * a lost answer is `UPSTREAM_OUTCOME_UNKNOWN` (look the object up before creating it again).
   */
  async createWorkflow(body: NewWorkflow, opts: CreateRequestOptions = {}): Promise<JsonObject> {
    const json = { title: body.title, description: body.description, status: 'draft' };
    return this.create({ endpoint: 'workflow.create', path: '/v1/workflows' }, json, opts);
  }

  /** 404: no such workflow; 409: the workflow is neither draft nor paused; 400: a bad `config` reference. */
  async createNode(workflowId: string, body: NewNode, opts: CreateRequestOptions = {}): Promise<JsonObject> {
    const json = {
      node_type: body.node_type,
      label: body.label,
      position_x: body.position_x,
      position_y: body.position_y,
      config: body.config,
    };
    const path = `${this.workflowPath(workflowId)}/nodes`;
    return this.create({ endpoint: 'nodes.create', path }, json, opts);
  }

  /**
   * Edges must be created in the archived order: DialNexa follows the first matching edge by
   * creation. 404 (`UPSTREAM_NOT_FOUND`): a node, or the workflow, is not there; 409: the same
   * `(from, to, label)` exists already.
   */
  async createEdge(workflowId: string, body: NewEdge, opts: CreateRequestOptions = {}): Promise<JsonObject> {
    const json: JsonObject = { from_node_id: body.from_node_id, to_node_id: body.to_node_id };
    if (body.label !== undefined && body.label !== null) json.label = body.label;
    const path = `${this.workflowPath(workflowId)}/edges`;
    return this.create(
      { endpoint: 'edges.create', path, codeFor: { 404: 'UPSTREAM_NOT_FOUND' } },
      json,
      opts,
    );
  }

  /**
   * Uploads one CSV file of leads (`multipart/form-data`, field `file`, `leads.csv`). The CSV is
   * never logged nor quoted in an error. 413 (`UPSTREAM_PAYLOAD_TOO_LARGE`): send fewer rows.
   */
  async uploadLeads(
    workflowId: string,
    csv: Uint8Array,
    opts: CreateRequestOptions = {},
  ): Promise<LeadUpload> {
    const form = multipartFile('file', 'leads.csv', 'text/csv', csv);
    const call = this.createCall(
      { endpoint: 'leads.upload', path: `${this.workflowPath(workflowId)}/leads` },
      { bytes: form.body, contentType: form.contentType },
      opts,
    );
    const reply = await this.sendCreate(call);
    const upload = leadUploadOf(this.parseCreatedJson(call, reply));
    if (typeof upload === 'string')
      throw outcomeUnknownError(call, badResponseError(call, reply.status, upload));
    return upload;
  }

  /** For undoing a half-finished create; resent like a GET, since a repeat answers 404. */
  async deleteNode(workflowId: string, nodeId: string, opts: RequestOptions = {}): Promise<RemoveOutcome> {
    const path = `${this.workflowPath(workflowId)}/nodes/${segment(nodeId, 'nodeId')}`;
    return this.remove({ endpoint: 'nodes.delete', path }, opts);
  }

  async deleteEdge(workflowId: string, edgeId: string, opts: RequestOptions = {}): Promise<RemoveOutcome> {
    const path = `${this.workflowPath(workflowId)}/edges/${segment(edgeId, 'edgeId')}`;
    return this.remove({ endpoint: 'edges.delete', path }, opts);
  }

  /** Readiness: DialNexa is reachable and accepts the key when it answers 404 for a workflow that cannot exist. */
  async probe(opts: RequestOptions = {}): Promise<void> {
    const call: Call = {
      method: 'GET',
      endpoint: 'probe',
      path: this.workflowPath(PROBE_WORKFLOW_ID),
      retry: 'none',
      signal: opts.signal,
    };
    const reply = await this.send(call);
    // 429: the key is known and the service answers; being rate limited is no reason to be unready
    if (reply.status === 404 || reply.status === 429 || (reply.status >= 200 && reply.status < 300)) return;
    throw this.statusError(call, reply);
  }

  /**
   * Whether DialNexa answered any request of this process, within `withinMs`, in a way that shows
   * it reachable with our key: readiness then needs no probe of its own (which would spend the
   * rate budget).
   */
  reachableWithin(withinMs: number): boolean {
    return this.lastReachableAt > 0 && this.clock() - this.lastReachableAt <= withinMs;
  }

  /** DialNexa's stated limit for the key, once an answer named it: for estimates of the time left. */
  knownRateLimit(): KnownRateLimit | null {
    return this.rateWindow.known();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private createCall(
    target: Pick<Call, 'endpoint' | 'path' | 'codeFor'>,
    body: NonNullable<Call['body']>,
    opts: CreateRequestOptions,
  ): Call {
    return {
      ...target,
      method: 'POST',
      body,
      creates: true,
      retry: 'rate-limit-only',
      signal: opts.signal,
      tally: opts.tally,
      beforeSend: opts.beforeSend,
    };
  }

  private async create(
    target: Pick<Call, 'endpoint' | 'path' | 'codeFor'>,
    json: JsonObject,
    opts: CreateRequestOptions,
  ): Promise<JsonObject> {
    // jsonText, not JSON.stringify: an archived -0 (a node's config) must come back as -0
    const body = { bytes: jsonText(json), contentType: 'application/json' };
    const call = this.createCall(target, body, opts);
    const reply = await this.sendCreate(call);
    const created = createdObjectOf(unwrap(this.parseCreatedJson(call, reply)).payload);
    if (typeof created === 'string')
      throw outcomeUnknownError(call, badResponseError(call, reply.status, created));
    return created;
  }

  /**
   * A create's answer: a 2xx, or the error it means. A 5xx or a 408 may come after DialNexa stored
   * the object, so it leaves the outcome unknown; any other status means nothing was created.
   */
  private async sendCreate(call: Call): Promise<Reply> {
    const reply = await this.send(call);
    if (reply.status >= 200 && reply.status < 300) return reply;
    const error = this.statusError(call, reply);
    if (reply.status >= 500 || reply.status === 408) throw outcomeUnknownError(call, error);
    throw error;
  }

  /** A 2xx whose body is unreadable still created something, so its outcome is unknown. */
  private parseCreatedJson(call: Call, reply: Reply): unknown {
    try {
      return this.parseJson(call, reply);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      throw outcomeUnknownError(call, error);
    }
  }

  private async remove(
    target: Pick<Call, 'endpoint' | 'path'>,
    opts: RequestOptions,
  ): Promise<RemoveOutcome> {
    const call: Call = {
      ...target,
      method: 'DELETE',
      retry: 'idempotent',
      signal: opts.signal,
      tally: opts.tally,
    };
    const reply = await this.send(call);
    if (reply.status >= 200 && reply.status < 300) return 'deleted';
    if (reply.status === 404) return 'already_gone';
    throw this.statusError(call, reply);
  }

  private workflowPath(workflowId: string): string {
    return `/v1/workflows/${segment(workflowId, 'workflowId')}`;
  }

  private async getObject(
    path: string,
    endpoint: UpstreamEndpoint,
    opts: RequestOptions,
  ): Promise<JsonObject> {
    const call: Call = {
      method: 'GET',
      endpoint,
      path,
      retry: 'idempotent',
      signal: opts.signal,
      tally: opts.tally,
    };
    const reply = await this.send(call);
    if (reply.status < 200 || reply.status >= 300) throw this.statusError(call, reply);
    const { payload } = unwrap(this.parseJson(call, reply));
    if (!isObject(payload)) throw badResponseError(call, reply.status, 'is not a JSON object');
    return payload;
  }

  private parseJson(call: Call, reply: Reply): unknown {
    try {
      return JSON.parse(reply.text);
    } catch {
      // the SyntaxError quotes the body (lead phone numbers): it is not kept as the cause
      throw badResponseError(call, reply.status, 'is not valid JSON');
    }
  }

  private parseList(
    call: Call,
    reply: Reply,
    page: number,
  ): { items: JsonObject[]; meta: PageMeta | undefined; itemsPath: string[] } {
    const { payload, outerMeta, payloadPath } = unwrap(this.parseJson(call, reply));
    let items: unknown;
    let meta: unknown;
    let itemsPath: string[];
    if (Array.isArray(payload)) {
      items = payload;
      meta = outerMeta;
      itemsPath = payloadPath;
    } else if (isObject(payload) && Array.isArray(payload.data)) {
      items = payload.data;
      meta = payload.meta ?? outerMeta;
      itemsPath = [...payloadPath, 'data'];
    } else {
      throw badResponseError(call, reply.status, 'is not a list');
    }
    const list = items as unknown[];
    if (!list.every(isObject))
      throw badResponseError(call, reply.status, 'lists something that is not an object');
    return { items: list, meta: this.parseMeta(call, reply, meta, page), itemsPath };
  }

  private parseMeta(call: Call, reply: Reply, meta: unknown, page: number): PageMeta | undefined {
    if (meta === undefined || meta === null) return undefined;
    if (!isObject(meta)) throw badResponseError(call, reply.status, 'has a malformed paging meta');
    const limit = num(meta.limit) ?? PAGE_LIMIT;
    const total = num(meta.total);
    // an archive must not end early on a guess: without a total there is no knowing where the list ends
    if (total === undefined) throw badResponseError(call, reply.status, 'has a paging meta without a total');
    const totalPages = num(meta.totalPages) ?? (limit > 0 ? Math.ceil(total / limit) : 0);
    return { page: num(meta.page) ?? page, limit, total, totalPages };
  }

  private statusError(call: Call, reply: Reply): DomainError {
    return upstreamStatusError(
      reply.status,
      call,
      upstreamMessageOf(reply.text, this.config.apiKey),
      call.codeFor,
    );
  }

  /**
   * Sends one request through the rate gate, repeating it as its retry policy allows. Resolves
   * with the final answer whatever its status; rejects only when no answer came.
   */
  private async send(call: Call): Promise<Reply> {
    const { signal } = call;
    let sent = 0;
    let failures = 0;
    let rateLimited = 0;
    for (;;) {
      await this.acquire(call);
      if (signal?.aborted) throw signal.reason;
      await call.beforeSend?.();
      sent++;
      call.tally?.add();
      const started = this.clock();
      let reply: Reply;
      try {
        reply = await this.once(call);
      } catch (error) {
        this.metrics.upstreamRequest(call.endpoint, call.method, null, (this.clock() - started) / 1000);
        if (signal?.aborted) throw signal.reason;
        const { error: mapped, transient } = upstreamTransportError(error, call, this.config.apiKey);
        if (call.creates && mayHaveBeenPerformed(mapped)) throw outcomeUnknownError(call, mapped);
        failures++;
        if (call.retry === 'idempotent' && transient && failures < this.config.maxAttempts) {
          this.metrics.upstreamRetry(call.endpoint, 'transport');
          await this.backoff(call, failures, sent, mapped.code);
          continue;
        }
        throw mapped;
      }
      const limits = rateLimitHeaders(reply.headers);
      this.gate.observe(limits, reply.status);
      this.metrics.upstreamRequest(call.endpoint, call.method, reply.status, (this.clock() - started) / 1000);
      this.metrics.upstreamRateLimit(parseCount(limits.limit), parseCount(limits.remaining));
      if (showsReachable(reply.status)) this.lastReachableAt = this.clock();
      this.rateWindow.observe(limits, this.clock());
      await call.afterAnswer?.(reply.status);
      this.logger.debug(
        `${call.method} ${call.path} ${reply.status} ${this.clock() - started}ms attempt ${sent}`,
      );
      if (reply.status === 429 && call.retry !== 'none' && rateLimited + 1 < this.config.maxAttempts) {
        rateLimited++;
        this.metrics.upstreamRetry(call.endpoint, 'rate_limited');
        this.logger.warn(`${call.method} ${call.path} rate limited (429), retrying after the window`);
        continue;
      }
      if (reply.status >= 500 && call.retry === 'idempotent') {
        failures++;
        if (failures < this.config.maxAttempts) {
          this.metrics.upstreamRetry(call.endpoint, 'server_error');
          await this.backoff(call, failures, sent, `HTTP ${reply.status}`);
          continue;
        }
      }
      return reply;
    }
  }

  /** The gate's refusal names the request it held back. */
  private async acquire(call: Call): Promise<void> {
    try {
      await this.gate.acquire(call.signal);
    } catch (error) {
      if (call.signal?.aborted || !isDomainError(error)) throw error;
      throw new DomainError(error.code, `${error.message} (${call.method} ${call.path})`, {
        retryable: error.retryable,
        details: { status: 429, method: call.method, path: call.path, ...error.details },
        cause: error,
      });
    }
  }

  /** Full jitter: a uniform wait in [0, min(max, base * 2^(n-1))). */
  private async backoff(call: Call, failures: number, sent: number, why: string): Promise<void> {
    const ceiling = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** (failures - 1));
    const waitMs = Math.floor(this.random() * ceiling);
    this.logger.warn(
      `${call.method} ${call.path} failed (${why}) on attempt ${sent}, retrying in ${waitMs}ms`,
    );
    await this.sleep(waitMs, call.signal);
  }

  private async once(call: Call): Promise<Reply> {
    const path = `${this.basePath}${call.path}${call.query === undefined ? '' : `?${call.query}`}`;
    const response = await this.dispatcher.request({
      origin: this.origin,
      path,
      method: call.method,
      headers: {
        authorization: `Bearer ${this.config.apiKey}`,
        accept: 'application/json',
        ...(call.body === undefined ? {} : { 'content-type': call.body.contentType }),
      },
      body: call.body?.bytes,
      signal: call.signal,
      headersTimeout: this.config.headersTimeoutMs,
      bodyTimeout: this.config.bodyTimeoutMs,
    });
    let bytes: Uint8Array;
    try {
      bytes = await response.body.bytes();
    } catch (error) {
      // the answer of a cancel or delete is its status; its body only ever feeds an error message
      if (call.method === 'GET' || call.signal?.aborted) throw error;
      this.logger.warn(`${call.method} ${call.path} ${response.statusCode}: body unreadable`);
      bytes = new Uint8Array(0);
    }
    return { status: response.statusCode, headers: response.headers, text: utf8Text(bytes), bytes };
  }
}
