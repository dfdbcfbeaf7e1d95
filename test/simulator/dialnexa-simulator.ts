/**
 * An in-process stand-in for the DialNexa REST API (see /work/shared/dialnexa-api.md), served on
 * node:http. It is the only stand-in the project's tests use, so it reproduces the documented
 * behaviour faithfully: NestJS error bodies, page-based pagination over live data, per-key fixed
 * window rate limits, cancel/settle/delete rules, and injectable network faults.
 *
 * Written in erasable TypeScript so `node --experimental-strip-types` runs it without a build.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Faults } from './faults.ts';
import type { SerializedFault } from './faults.ts';
import { toWireJson } from './hostile-values.ts';
import { FixedWindowRateLimiter } from './rate-limiter.ts';
import type { RateLimitConfig } from './rate-limiter.ts';
import { MAX_UPLOAD_BYTES, uploadRows, uploadedFile } from './lead-upload.ts';
import type { UploadParse } from './lead-upload.ts';
import { LEAD_STATUSES, WORKFLOW_STATUSES, defaultOrgId, generateWorkflow, iso } from './seed.ts';
import type { ApiEdge, ApiLead, ApiNode, LeadStatus, WorkflowStatus } from './seed.ts';
import { SimWorkflow } from './workflow-store.ts';
import {
  IdMinter,
  OrgResources,
  createEdge,
  createNode,
  deleteNodeOrEdge,
  enrolUploadedLeads,
  validateNewEdge,
  validateNewNode,
  validateNewWorkflow,
} from './workflow-writes.ts';
import type { WriteAnswer } from './workflow-writes.ts';

export { Faults } from './faults.ts';
export type { FaultMatch, RandomFaultOptions } from './faults.ts';
export type { RateLimitConfig } from './rate-limiter.ts';
export { toWireJson } from './hostile-values.ts';
export type { ApiEdge, ApiLead, ApiNode, LeadStatus, WorkflowStatus } from './seed.ts';

export const DEFAULT_API_KEY = 'dnx_test_simulator_key_0001';

export interface ApiKeyConfig {
  key: string;
  orgId?: string;
  canRead?: boolean;
  canDelete?: boolean;
  /** May create workflows, nodes, edges and leads, and delete nodes and edges (default true). */
  canWrite?: boolean;
}

export interface DialnexaSimulatorOptions {
  apiKeys?: ApiKeyConfig[];
  seed?: number;
  rateLimit?: RateLimitConfig;
  /** How long leads in transit at a cancel stay in transit before settling. */
  settleMs?: number;
  /** Serve the "second published description": `{statusCode, message, data}` and camelCase timestamps. */
  envelope?: boolean;
  /**
   * Caps the long `call_transcript` of every 256th generated lead (16 KB to 1 MB, about 340 KB on
   * average) at this many UTF-16 code units. Unset (the default) serves them whole; benchmarks of
   * large workflows cap them, or a million leads would carry gigabytes of transcripts.
   */
  maxTranscriptLength?: number;
}

export interface AddWorkflowOptions {
  nodes?: number;
  edges?: number;
  leads?: number;
  status?: WorkflowStatus;
  id?: string;
  orgId?: string;
  /** Leads pending/in progress on a non-terminal node; default 10% for active, running and paused. */
  inTransitLeads?: number;
  /** Merged into the workflow object; also turns on unknown fields on nodes, edges and leads. */
  extraFields?: Record<string, unknown>;
  /** When false, nodes and edges come as one complete list without `meta`. */
  paginateNodes?: boolean;
  /** This workflow's leads stay in transit this long after a cancel (default: the simulator's). */
  settleMs?: number;
}

/** Bodies a test wants served exactly as given (see `addServedWorkflow`). */
export interface ServedBodies {
  /** Needs an `id` the sanity check accepts and a known `status`; every other field is free. */
  workflow: Record<string, unknown>;
  /** Each needs a unique string `id` and a string `node_type`. */
  nodes: Array<Record<string, unknown>>;
  /** Each needs a unique string `id`. */
  edges: Array<Record<string, unknown>>;
  /** Each needs a unique `id`, a known `status`, and a `current_node_id` that is null or one of the nodes. */
  leads: Array<Record<string, unknown>>;
}

export interface AddServedWorkflowOptions {
  orgId?: string;
  settleMs?: number;
  paginateNodes?: boolean;
}

export interface RecordedRequest {
  /** Arrival order. */
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** 0 when the connection was dropped without an answer. */
  status: number;
  /** Whether the request reached the API and was handled (whatever the outcome). */
  performed: boolean;
  /** Arrival time, epoch ms. */
  at: number;
  /** When the answer was sent or the connection dropped, epoch ms (how long requests overlapped). */
  doneAt: number;
  /**
   * The client connection it came on (numbered in the order they opened). The simulator answers one
   * request at a time, so `at`/`doneAt` never overlap; a pooling client (undici) opens another
   * connection only when all of its own are busy, so the connections a client used tell how many
   * requests it had in flight at once.
   */
  connection: number;
}

export interface WorkflowSnapshot {
  workflow: Record<string, unknown>;
  nodes: ApiNode[];
  edges: ApiEdge[];
  leads: Array<Record<string, unknown>>;
}

/** `query` holds the request's query parameters (a page number, a status filter). */
export type RequestHook = (
  method: string,
  path: string,
  query: Record<string, string>,
) => void | Promise<void>;

interface ApiResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

type Route =
  | { name: 'workflow' | 'nodes' | 'edges' | 'leads' | 'cancel' | 'pause' | 'delete'; id: string | undefined }
  | { name: 'history'; id: string | undefined; leadId: string | undefined }
  | { name: 'createWorkflow'; id: undefined }
  | { name: 'createNode' | 'createEdge' | 'uploadLeads'; id: string | undefined }
  | { name: 'deleteNode' | 'deleteEdge'; id: string | undefined; subId: string | undefined };

/** The routes that change a workflow's content: they need a key with write permission. */
const WRITE_ROUTES: ReadonlySet<Route['name']> = new Set([
  'createWorkflow',
  'createNode',
  'createEdge',
  'uploadLeads',
  'deleteNode',
  'deleteEdge',
]);

/** A request's body, read before it is handled (see `readBody`). */
interface IncomingBody {
  bytes: Buffer;
  /** More than MAX_UPLOAD_BYTES came: the rest was read and thrown away. */
  tooLarge: boolean;
  contentType: string | undefined;
}

/** What the request carried, as the route needs it: a JSON body, or an upload's rows. */
interface RequestPayload {
  json?: { value: unknown } | { error: string };
  upload?: UploadParse;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 20;
const CANCELLABLE: ReadonlySet<WorkflowStatus> = new Set(['draft', 'active', 'running', 'paused']);
const RUNNING: ReadonlySet<WorkflowStatus> = new Set(['active', 'running']);
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
const FAULT_MESSAGES: Record<number, string> = {
  500: 'Internal server error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

function errorBody(status: number, message: string | string[]): Record<string, unknown> {
  return { statusCode: status, message, error: REASONS[status] ?? 'Error' };
}

function decodeSegment(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape cannot name any workflow: the caller answers 404 for an undefined id.
    return undefined;
  }
}

function matchRoute(method: string, path: string): Route | undefined {
  // Express routes are not strict: a trailing slash matches too.
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const segments = trimmed.split('/');
  if (segments[0] !== '' || segments[1] !== 'v1' || segments[2] !== 'workflows') return undefined;
  if (segments.length === 3) return method === 'POST' ? { name: 'createWorkflow', id: undefined } : undefined;
  if (segments.length < 4) return undefined;
  const id = decodeSegment(segments[3]);
  const rest = segments.slice(4);
  if (rest.length === 0) {
    if (method === 'GET') return { name: 'workflow', id };
    if (method === 'DELETE') return { name: 'delete', id };
    return undefined;
  }
  if (rest.length === 1) {
    const [sub] = rest;
    if (method === 'GET' && (sub === 'nodes' || sub === 'edges' || sub === 'leads')) return { name: sub, id };
    if (method === 'POST' && (sub === 'cancel' || sub === 'pause')) return { name: sub, id };
    if (method === 'POST' && sub === 'nodes') return { name: 'createNode', id };
    if (method === 'POST' && sub === 'edges') return { name: 'createEdge', id };
    if (method === 'POST' && sub === 'leads') return { name: 'uploadLeads', id };
    return undefined;
  }
  if (rest.length === 2 && method === 'DELETE' && (rest[0] === 'nodes' || rest[0] === 'edges')) {
    return { name: rest[0] === 'nodes' ? 'deleteNode' : 'deleteEdge', id, subId: decodeSegment(rest[1]) };
  }
  if (rest.length === 3 && method === 'GET' && rest[0] === 'leads' && rest[2] === 'history') {
    return { name: 'history', id, leadId: decodeSegment(rest[1]) };
  }
  return undefined;
}

/** `created_at` -> `createdAt`, for the enveloped flavour of the API. */
function camelTimestamps(item: Record<string, unknown>): Record<string, unknown> {
  // fromEntries defines keys: assigning `__proto__` would set the prototype instead
  return Object.fromEntries(
    Object.entries(item).map(([key, value]) => [
      key.endsWith('_at') ? key.replace(/_([a-z])/g, (_, char: string) => char.toUpperCase()) : key,
      value,
    ]),
  );
}

function uniqueIds(items: Array<Record<string, unknown>>, what: string, pattern?: RegExp): string[] {
  const ids = items.map((item) => item['id']);
  for (const id of ids) {
    if (typeof id !== 'string' || (pattern !== undefined && !pattern.test(id))) {
      throw new RangeError(`every ${what} needs a valid string id, got ${JSON.stringify(id)}`);
    }
  }
  if (new Set(ids).size !== ids.length) throw new RangeError(`${what} ids must be unique`);
  return ids as string[];
}

function parseInteger(
  values: string[],
  name: string,
  min: number,
  max: number | undefined,
  errors: string[],
): number | undefined {
  if (values.length === 0) return undefined;
  const [value] = values;
  if (values.length > 1 || value === undefined || !/^[+-]?\d+$/.test(value.trim())) {
    errors.push(`${name} must be an integer number`);
    return undefined;
  }
  const number = Number(value);
  if (number < min) errors.push(`${name} must not be less than ${min}`);
  if (max !== undefined && number > max) errors.push(`${name} must not be greater than ${max}`);
  return number;
}

function nonNegativeInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer`);
  }
  return value;
}

export class DialnexaSimulator {
  readonly faults = new Faults();
  /** Every API request, in arrival order (the control API under /__sim is not recorded). */
  readonly requests: RecordedRequest[] = [];
  private readonly connections = new WeakMap<object, number>();
  private connectionSeq = 0;
  readonly seed: number;
  /** Organisation of the default key and of workflows added without `orgId`. */
  readonly defaultOrgId: string;

  private readonly apiKeys: Map<string, Required<ApiKeyConfig>>;
  private readonly limiter: FixedWindowRateLimiter;
  private readonly settleMs: number;
  private readonly envelope: boolean;
  private readonly maxTranscriptLength: number | undefined;
  private readonly workflows = new Map<string, SimWorkflow>();
  private readonly resources = new OrgResources();
  private readonly ids: IdMinter;
  private readonly hooks = new Set<RequestHook>();
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private workflowOrdinal = 0;
  private requestSeq = 0;
  private server: Server | undefined;
  private baseUrl: string | undefined;
  private stopping = false;

  constructor(options: DialnexaSimulatorOptions = {}) {
    this.seed = options.seed ?? 1;
    this.defaultOrgId = defaultOrgId(this.seed);
    this.ids = new IdMinter(this.seed);
    const keys = options.apiKeys ?? [{ key: DEFAULT_API_KEY }];
    this.apiKeys = new Map(
      keys.map((key) => [
        key.key,
        {
          key: key.key,
          orgId: key.orgId ?? this.defaultOrgId,
          canRead: key.canRead ?? true,
          canDelete: key.canDelete ?? true,
          canWrite: key.canWrite ?? true,
        },
      ]),
    );
    this.limiter = new FixedWindowRateLimiter(
      options.rateLimit ?? { limit: 150, windowMs: 60_000, resetHeader: 'unix' },
    );
    this.settleMs = nonNegativeInteger(options.settleMs, 'settleMs', 1500);
    this.envelope = options.envelope ?? false;
    this.maxTranscriptLength =
      options.maxTranscriptLength === undefined
        ? undefined
        : nonNegativeInteger(options.maxTranscriptLength, 'maxTranscriptLength', 0);
  }

  /** `http://host:port`, without `/v1`. */
  get url(): string {
    if (this.baseUrl === undefined) throw new Error('the simulator is not started');
    return this.baseUrl;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<void> {
    if (this.server) throw new Error('the simulator is already started');
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.failInternally(res, error));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port: boundPort } = server.address() as AddressInfo;
    this.server = server;
    this.stopping = false;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.stopping = true;
    for (const sleeper of this.sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
    this.sleepers.clear();
    this.faults.releaseHangs();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    this.server = undefined;
    this.baseUrl = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Test-facing state

  addWorkflow(options: AddWorkflowOptions = {}): string {
    const status = options.status ?? 'active';
    if (!WORKFLOW_STATUSES.includes(status))
      throw new RangeError(`unknown workflow status ${String(status)}`);
    if (options.id !== undefined && (!ID_PATTERN.test(options.id) || this.workflows.has(options.id))) {
      throw new RangeError(`workflow id ${options.id} is invalid or already used`);
    }
    const nodes = nonNegativeInteger(options.nodes, 'nodes', 5);
    const edges = nonNegativeInteger(options.edges, 'edges', 6);
    const leads = nonNegativeInteger(options.leads, 'leads', 420);
    if (leads > 50_000_000) throw new RangeError('leads must be at most 50,000,000');
    const unknowns = options.extraFields !== undefined;
    const generated = generateWorkflow(this.seed, this.workflowOrdinal++, {
      id: options.id,
      nodes,
      edges,
      unknowns,
    });
    if (this.workflows.has(generated.id)) throw new RangeError(`workflow id ${generated.id} is already used`);
    const canTransit = generated.nodes.some(
      (node) => node.node_type !== 'CONVERTED' && node.node_type !== 'DROPPED',
    );
    // Leads only move while a workflow runs or is paused mid-run; other states start settled.
    const defaultInTransit =
      canTransit && ['active', 'running', 'paused'].includes(status) ? Math.round(leads * 0.1) : 0;
    const inTransitLeads = nonNegativeInteger(options.inTransitLeads, 'inTransitLeads', defaultInTransit);
    const terminal = status === 'cancelled' || status === 'completed';
    const settleMs = nonNegativeInteger(options.settleMs, 'settleMs', this.settleMs);
    const workflow = new SimWorkflow({
      generated,
      orgId: options.orgId ?? this.defaultOrgId,
      status,
      leads,
      inTransitLeads,
      extraFields: { ...options.extraFields },
      paginateNodes: options.paginateNodes ?? true,
      unknowns,
      settleAtMs: terminal && inTransitLeads > 0 ? Date.now() + settleMs : undefined,
      settleMs,
      maxTranscriptLength: this.maxTranscriptLength,
    });
    this.workflows.set(workflow.id, workflow);
    this.resources.learnFrom(workflow.orgId, workflow.nodes);
    return workflow.id;
  }

  /**
   * A workflow whose bodies are exactly those given (deep-copied), for tests that choose every
   * value. Its leads are in transit by the documented rule; a cancel settles them after `settleMs`.
   */
  addServedWorkflow(bodies: ServedBodies, options: AddServedWorkflowOptions = {}): string {
    const { workflow, nodes, edges, leads } = JSON.parse(toWireJson(bodies)) as ServedBodies;
    const [id] = uniqueIds([workflow], 'workflow', ID_PATTERN);
    if (this.workflows.has(id!)) throw new RangeError(`workflow id ${id} is already used`);
    const status = workflow['status'] as WorkflowStatus;
    if (!WORKFLOW_STATUSES.includes(status))
      throw new RangeError(`unknown workflow status ${String(status)}`);
    const nodeIds = new Set(uniqueIds(nodes, 'node'));
    if (!nodes.every((node) => typeof node['node_type'] === 'string'))
      throw new RangeError('every node needs a string node_type');
    uniqueIds(edges, 'edge');
    uniqueIds(leads, 'lead', ID_PATTERN);
    for (const lead of leads) {
      if (!LEAD_STATUSES.includes(lead['status'] as LeadStatus))
        throw new RangeError(`unknown lead status ${String(lead['status'])}`);
      const at = lead['current_node_id'];
      if (at !== null && !(typeof at === 'string' && nodeIds.has(at)))
        throw new RangeError(`lead ${String(lead['id'])} sits on no node of the workflow`);
    }
    const now = Date.now();
    const settleMs = nonNegativeInteger(options.settleMs, 'settleMs', this.settleMs);
    const sim = new SimWorkflow({
      generated: {
        id: id!,
        workflowSeed: 0,
        name: '',
        description: null,
        createdAtMs: now,
        updatedAtMs: now,
        nodes: nodes as ApiNode[],
        edges: edges as ApiEdge[],
      },
      orgId: options.orgId ?? this.defaultOrgId,
      status,
      leads: leads.length,
      inTransitLeads: 0,
      extraFields: {},
      paginateNodes: options.paginateNodes ?? true,
      unknowns: false,
      settleAtMs: status === 'cancelled' || status === 'completed' ? now + settleMs : undefined,
      settleMs,
      served: { workflow, leads: leads as ApiLead[] },
    });
    this.workflows.set(sim.id, sim);
    this.resources.learnFrom(sim.orgId, sim.nodes);
    return sim.id;
  }

  /**
   * Makes an agent id known to an organisation (default: the default key's), so that a node
   * created with `config.agent_id` referring to it is accepted. Agents of every workflow the
   * simulator was given are known already, also once that workflow is deleted.
   */
  addAgent(agentId: string, orgId: string = this.defaultOrgId): void {
    this.resources.addAgent(orgId, agentId);
  }

  /** The same for a caller-id phone number (`config.from_phone_number`). */
  addPhoneNumber(phoneNumber: string, orgId: string = this.defaultOrgId): void {
    this.resources.addPhoneNumber(orgId, phoneNumber);
  }

  /**
   * The workflow and its lists as a client reads them: what the API serves, through JSON.parse
   * (so `-0` is -0, `__proto__` an own key, numbers written as `1E+21` plain numbers), or
   * undefined once deleted.
   */
  snapshot(id: string): WorkflowSnapshot | undefined {
    const workflow = this.workflows.get(id);
    if (!workflow) return undefined;
    const now = Date.now();
    return JSON.parse(
      toWireJson({
        workflow: this.shapeTimestamps(workflow.toApi()),
        nodes: workflow.nodes,
        edges: workflow.edges,
        leads: workflow.allLeads(now).map((lead) => this.shapeTimestamps(lead)),
      }),
    ) as WorkflowSnapshot;
  }

  exists(id: string): boolean {
    return this.workflows.has(id);
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Runs `hook` when a request arrives, before any fault or handling; returns an unsubscribe. */
  onRequest(hook: RequestHook): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** Leads currently in transit (what keeps DELETE answering 409). */
  leadsInTransit(id: string): number {
    return this.mustGet(id).countInTransit(Date.now());
  }

  /** Changes the workflow's status as DialNexa itself would (e.g. a run that completes). */
  setWorkflowStatus(id: string, status: WorkflowStatus): void {
    if (!WORKFLOW_STATUSES.includes(status))
      throw new RangeError(`unknown workflow status ${String(status)}`);
    const workflow = this.mustGet(id);
    workflow.status = status;
    workflow.updatedAtMs = Date.now();
    if ((status === 'cancelled' || status === 'completed') && workflow.settleAtMs === undefined) {
      workflow.settleAtMs = Date.now() + (workflow.settleMs ?? this.settleMs);
    }
  }

  /** Live-data helpers: each shifts items between pages, as DialNexa does while a workflow runs. */
  enrollLeads(id: string, count: number): string[] {
    const workflow = this.mustGet(id);
    if (workflow.status === 'cancelled' || workflow.status === 'completed') {
      throw new RangeError(`a ${workflow.status} workflow enrols no leads`);
    }
    return workflow.enrollLeads(count);
  }

  deleteLead(id: string, leadId: string): boolean {
    return this.mustGet(id).deleteLead(leadId);
  }

  setLeadStatus(id: string, leadId: string, status: LeadStatus): boolean {
    return this.mustGet(id).setLeadStatus(leadId, status);
  }

  private connectionOf(socket: object): number {
    let id = this.connections.get(socket);
    if (id === undefined) {
      id = ++this.connectionSeq;
      this.connections.set(socket, id);
    }
    return id;
  }

  private mustGet(id: string): SimWorkflow {
    const workflow = this.workflows.get(id);
    if (!workflow) throw new RangeError(`no workflow ${id}`);
    return workflow;
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    if (path === '/__sim' || path.startsWith('/__sim/')) return this.handleControl(req, res, method, path);

    const seq = ++this.requestSeq;
    const at = Date.now();
    const query = Object.fromEntries(url.searchParams);
    const connection = this.connectionOf(req.socket);
    const record = (status: number, performed: boolean): void =>
      this.record({ seq, method, path, query, status, performed, at, doneAt: Date.now(), connection });

    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    // read from the start (as a server's body parser does), whatever the fault or the route
    const bodyRead = readBody(req);

    for (const hook of [...this.hooks]) await hook(method, path, query);
    const { delayMs } = this.faults.holdFor(method, path);
    if (delayMs > 0) await this.sleep(delayMs);
    // Re-read after the delay: a test may have cleared the hang meanwhile.
    const hang = this.faults.holdFor(method, path).hang && !this.stopping;
    if (hang) await this.faults.waitForRelease();
    if (delayMs > 0 || hang) {
      // A client that gave up while its request was held may have closed its socket in the very
      // tick of the release: let that close reach this side before deciding.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    }
    // A front end drops requests whose client gave up: they never reach the API.
    if (clientGone || req.socket.destroyed || this.stopping) {
      req.socket.destroy();
      return record(0, false);
    }

    const fault = this.faults.take(method, path);
    const now = Date.now();
    const bucket = this.bucketOf(req);
    switch (fault?.kind) {
      case 'reset':
        req.socket.destroy();
        return record(0, false);
      case 'fail':
        this.send(res, {
          status: fault.status,
          body: errorBody(fault.status, FAULT_MESSAGES[fault.status] ?? REASONS[fault.status] ?? 'Error'),
          headers: this.limiter.peek(bucket, now),
        });
        return record(fault.status, false);
      case 'inTransitConflict':
        this.send(res, {
          status: 409,
          body: errorBody(409, 'Workflow has leads in transit. Wait for them to settle.'),
          headers: this.limiter.peek(bucket, now),
        });
        return record(409, false);
      case 'rateLimit':
        this.send(res, {
          status: 429,
          body: errorBody(429, 'ThrottlerException: Too Many Requests'),
          headers: this.limiter.throttledHeaders(fault.retryAfterS, now),
        });
        return record(429, false);
      default:
        break;
    }

    const payload = await this.payloadOf(method, path, await bodyRead);
    const response = this.dispatch(
      method,
      path,
      url.searchParams,
      req.headers.authorization,
      bucket,
      fault?.kind === 'forbid' ? (fault.message ?? 'Forbidden resource') : undefined,
      Date.now(),
      payload,
    );
    if (fault?.kind === 'dropAfterPerform' || clientGone) {
      req.socket.destroy();
      return record(0, true);
    }
    if (fault?.kind === 'failAfterPerform') {
      this.send(res, {
        status: fault.status,
        body: errorBody(fault.status, FAULT_MESSAGES[fault.status] ?? REASONS[fault.status] ?? 'Error'),
        headers: response.headers,
      });
      return record(fault.status, true);
    }
    this.send(res, response);
    record(response.status, true);
  }

  /**
   * The body as the route reads it: JSON for a create (NestJS parses only an `application/json`
   * body; any other is validated as empty), the rows of a lead upload. Other routes ignore it.
   */
  private async payloadOf(method: string, path: string, body: IncomingBody): Promise<RequestPayload> {
    const route = matchRoute(method, path);
    if (route?.name === 'uploadLeads') {
      if (body.tooLarge) return { upload: { status: 413, message: 'File too large' } };
      const file = await uploadedFile(body.bytes, body.contentType);
      return { upload: 'status' in file ? file : uploadRows(file) };
    }
    if (route?.name !== 'createWorkflow' && route?.name !== 'createNode' && route?.name !== 'createEdge')
      return {};
    if (body.tooLarge) return { json: { error: 'request entity too large' } };
    if (!/^application\/json\b/i.test(body.contentType ?? '')) return { json: { value: {} } };
    const text = body.bytes.toString('utf8');
    if (text.trim() === '') return { json: { value: {} } };
    try {
      return { json: { value: JSON.parse(text) as unknown } };
    } catch (error) {
      return { json: { error: (error as Error).message } };
    }
  }

  private record(entry: RecordedRequest): void {
    // Requests finish out of order (delays, hangs); keep the list in arrival order.
    let at = this.requests.length;
    while (at > 0 && this.requests[at - 1]!.seq > entry.seq) at--;
    this.requests.splice(at, 0, entry);
  }

  private send(res: ServerResponse, response: ApiResponse): void {
    const payload = toWireJson(response.body);
    res.writeHead(response.status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(payload)),
      ...response.headers,
    });
    res.end(payload);
  }

  private failInternally(res: ServerResponse, error: unknown): void {
    // A simulator bug must be loud, or tests would pass against a broken stand-in.
    console.error('[dialnexa-simulator] internal error', error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.send(res, { status: 500, body: errorBody(500, 'Internal server error'), headers: {} });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.sleepers.add(sleeper);
    });
  }

  private bucketOf(req: IncomingMessage): string {
    // Throttled per presented key; requests without one share a bucket per client address.
    const token = this.bearerToken(req.headers.authorization);
    return token !== undefined ? `key:${token}` : `anonymous:${req.socket.remoteAddress ?? ''}`;
  }

  private bearerToken(header: string | undefined): string | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return match?.[1];
  }

  // -------------------------------------------------------------------------------------------
  // The API proper

  private dispatch(
    method: string,
    path: string,
    query: URLSearchParams,
    authorization: string | undefined,
    bucket: string,
    /** The message of the 403 a `forbid` fault answers with, if one matched. */
    forbidden: string | string[] | undefined,
    now: number,
    payload: RequestPayload = {},
  ): ApiResponse {
    const throttle = this.limiter.hit(bucket, now);
    const rateHeaders = throttle.headers;
    const fail = (status: number, message: string | string[]): ApiResponse => ({
      status,
      body: errorBody(status, message),
      headers: rateHeaders,
    });
    const ok = (body: unknown): ApiResponse => ({
      status: 200,
      body: this.envelope ? { statusCode: 200, message: 'Success', data: body } : body,
      headers: rateHeaders,
    });

    if (!throttle.allowed) {
      return {
        status: 429,
        body: errorBody(429, 'ThrottlerException: Too Many Requests'),
        headers: { ...rateHeaders, 'Retry-After': String(throttle.retryAfterS) },
      };
    }
    const route = matchRoute(method, path);
    if (!route) return fail(404, `Cannot ${method} ${path}`);

    const token = this.bearerToken(authorization);
    const key = token === undefined ? undefined : this.apiKeys.get(token);
    if (!key) return fail(401, 'Unauthorized');
    if (forbidden !== undefined) return fail(403, forbidden);
    if (method === 'GET' && !key.canRead) return fail(403, 'Forbidden resource');
    if (WRITE_ROUTES.has(route.name)) {
      if (!key.canWrite) return fail(403, 'Forbidden resource');
      return this.dispatchWrite(route, key.orgId, payload, now, fail, rateHeaders);
    }
    if (method === 'DELETE' && !key.canDelete) return fail(403, 'Forbidden resource');

    const workflow =
      route.id !== undefined && ID_PATTERN.test(route.id) ? this.workflows.get(route.id) : undefined;
    // Another organisation's workflow is indistinguishable from a missing one.
    if (!workflow || workflow.orgId !== key.orgId) return fail(404, 'Workflow not found');

    switch (route.name) {
      case 'workflow':
        return ok(this.shapeTimestamps(workflow.toApi()));
      case 'nodes':
      case 'edges': {
        const items: ReadonlyArray<ApiNode | ApiEdge> =
          route.name === 'nodes' ? workflow.nodes : workflow.edges;
        if (!workflow.paginateNodes) return ok({ data: items });
        const paging = this.paging(query, false);
        if ('errors' in paging) return fail(400, paging.errors);
        const offset = (paging.page - 1) * paging.limit;
        return ok(
          this.pageOf(items.slice(offset, offset + paging.limit), items.length, paging.page, paging.limit),
        );
      }
      case 'leads': {
        const paging = this.paging(query, true);
        if ('errors' in paging) return fail(400, paging.errors);
        const offset = (paging.page - 1) * paging.limit;
        const { items, total } = workflow.leadPage(offset, paging.limit, paging.status, now);
        return ok(
          this.pageOf(
            items.map((lead) => this.shapeTimestamps(lead)),
            total,
            paging.page,
            paging.limit,
          ),
        );
      }
      case 'history': {
        const leadId = route.leadId;
        const history =
          leadId !== undefined && ID_PATTERN.test(leadId) ? workflow.history(leadId, now) : undefined;
        if (!history) return fail(404, 'Lead not found');
        return ok({
          id: leadId,
          workflow_id: workflow.id,
          history: history.map((entry) => this.shapeTimestamps({ ...entry })),
        });
      }
      case 'cancel': {
        if (!CANCELLABLE.has(workflow.status)) return fail(409, `Workflow is already ${workflow.status}.`);
        workflow.status = 'cancelled';
        workflow.updatedAtMs = now;
        // Steps already running finish: their leads stay in transit until the workflow settles.
        workflow.settleAtMs = now + (workflow.settleMs ?? this.settleMs);
        return ok({ id: workflow.id, status: 'cancelled' });
      }
      case 'pause': {
        if (!RUNNING.has(workflow.status)) {
          return fail(409, `Workflow is ${workflow.status}. Only an active workflow can be paused.`);
        }
        workflow.status = 'paused';
        workflow.updatedAtMs = now;
        return ok({ id: workflow.id, status: 'paused' });
      }
      case 'delete': {
        if (RUNNING.has(workflow.status)) return fail(409, 'Workflow is still active. Cancel it first.');
        if (workflow.hasLeadsInTransit(now))
          return fail(409, 'Workflow has leads in transit. Wait for them to settle.');
        this.workflows.delete(workflow.id);
        return ok({ message: 'Workflow deleted.' });
      }
      default:
        // the write routes were dispatched above
        return fail(404, `Cannot ${method} ${path}`);
    }
  }

  /**
   * The endpoints a restore uses (see workflow-writes.ts). The order is NestJS's: the body parser
   * and the validation pipe (400, 413) before the handler, which looks the workflow up (404) and
   * then checks its state (409).
   */
  private dispatchWrite(
    route: Route,
    orgId: string,
    payload: RequestPayload,
    now: number,
    fail: (status: number, message: string | string[]) => ApiResponse,
    headers: Record<string, string>,
  ): ApiResponse {
    const answer = (write: WriteAnswer): ApiResponse => {
      if ('message' in write) return fail(write.status, write.message);
      // the upload's answer is documented with its envelope; the others follow the API's flavour
      const body =
        route.name === 'uploadLeads' || !this.envelope
          ? write.body
          : {
              statusCode: write.status,
              message: 'Success',
              data: this.shapeTimestamps(write.body as object),
            };
      return { status: write.status, body, headers };
    };
    if (payload.json !== undefined && 'error' in payload.json) return fail(400, payload.json.error);
    const json = payload.json?.value;
    const ctx = { ids: this.ids, resources: this.resources, now };
    const workflow =
      route.id !== undefined && ID_PATTERN.test(route.id) ? this.workflows.get(route.id) : undefined;
    const found = workflow !== undefined && workflow.orgId === orgId ? workflow : undefined;
    const notFound = (): ApiResponse => fail(404, 'Workflow not found');
    switch (route.name) {
      case 'createWorkflow': {
        const fields = validateNewWorkflow(json);
        if (Array.isArray(fields)) return fail(400, fields);
        return answer({
          status: 201,
          body: this.createWorkflow(orgId, fields.title, fields.description, now),
        });
      }
      case 'createNode': {
        const fields = validateNewNode(json);
        if (Array.isArray(fields)) return fail(400, fields);
        return found ? answer(createNode(found, fields, ctx)) : notFound();
      }
      case 'createEdge': {
        const fields = validateNewEdge(json);
        if (Array.isArray(fields)) return fail(400, fields);
        return found ? answer(createEdge(found, fields, ctx)) : notFound();
      }
      case 'uploadLeads': {
        const upload = payload.upload ?? { status: 400, message: 'File is required' };
        if ('status' in upload) return fail(upload.status, upload.message);
        return found ? answer(enrolUploadedLeads(found, upload.rows, ctx)) : notFound();
      }
      case 'deleteNode':
      case 'deleteEdge': {
        const what = route.name === 'deleteNode' ? 'node' : 'edge';
        return found ? answer(deleteNodeOrEdge(found, what, route.subId, now)) : notFound();
      }
      default:
        return notFound();
    }
  }

  /** A new, empty draft, served like any other workflow from now on. */
  private createWorkflow(orgId: string, title: string, description: string | null, now: number): unknown {
    const sim = new SimWorkflow({
      generated: {
        id: this.ids.mint('wfl', (id) => this.workflows.has(id)),
        workflowSeed: 0,
        name: title,
        description,
        createdAtMs: now,
        updatedAtMs: now,
        nodes: [],
        edges: [],
      },
      orgId,
      status: 'draft',
      leads: 0,
      inTransitLeads: 0,
      extraFields: {},
      paginateNodes: true,
      unknowns: false,
      served: { leads: [] },
    });
    this.workflows.set(sim.id, sim);
    return {
      id: sim.id,
      organization_id: orgId,
      title,
      description,
      status: 'draft',
      created_at: iso(now),
      updated_at: iso(now),
    };
  }

  private paging(
    query: URLSearchParams,
    withStatus: boolean,
  ): { page: number; limit: number; status: LeadStatus | undefined } | { errors: string[] } {
    const errors: string[] = [];
    const page = parseInteger(query.getAll('page'), 'page', 1, undefined, errors) ?? 1;
    const limit = parseInteger(query.getAll('limit'), 'limit', 1, MAX_LIMIT, errors) ?? DEFAULT_LIMIT;
    let status: LeadStatus | undefined;
    if (withStatus && query.has('status')) {
      const values = query.getAll('status');
      const value = values[0] as LeadStatus;
      if (values.length === 1 && LEAD_STATUSES.includes(value)) status = value;
      else errors.push(`status must be one of the following values: ${LEAD_STATUSES.join(', ')}`);
    }
    return errors.length > 0 ? { errors } : { page, limit, status };
  }

  private pageOf<T>(
    data: T[],
    total: number,
    page: number,
    limit: number,
  ): { data: T[]; meta: Record<string, number> } {
    return { data, meta: { page, limit, total, totalPages: Math.ceil(total / limit) } };
  }

  private shapeTimestamps<T extends object>(item: T): Record<string, unknown> {
    const record = item as Record<string, unknown>;
    return this.envelope ? camelTimestamps(record) : { ...record };
  }

  // -------------------------------------------------------------------------------------------
  // Control API for the standalone simulator: no auth, not recorded, not rate limited.

  private async handleControl(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
  ): Promise<void> {
    const reply = (status: number, body?: unknown): void => {
      if (body === undefined) {
        res.writeHead(status).end();
        return;
      }
      this.send(res, { status, body, headers: {} });
    };
    let body: unknown;
    try {
      body = await readJson(req);
    } catch (error) {
      return reply(400, errorBody(400, `invalid JSON body: ${(error as Error).message}`));
    }
    const workflowMatch = /^\/__sim\/workflows\/([^/]+)$/.exec(path);
    try {
      if (method === 'POST' && path === '/__sim/workflows') {
        return reply(201, { id: this.addWorkflow(body ?? {}) });
      }
      if (method === 'POST' && path === '/__sim/served-workflows') {
        const { options, ...bodies } = (body ?? {}) as ServedBodies & { options?: AddServedWorkflowOptions };
        return reply(201, { id: this.addServedWorkflow(bodies, options) });
      }
      if (method === 'GET' && workflowMatch) {
        const snapshot = this.snapshot(decodeURIComponent(workflowMatch[1]!));
        return snapshot ? reply(200, snapshot) : reply(404, errorBody(404, 'Workflow not found'));
      }
      if (method === 'GET' && path === '/__sim/requests') return reply(200, this.requests);
      if (method === 'DELETE' && path === '/__sim/requests') {
        this.clearRequests();
        return reply(204);
      }
      if (method === 'POST' && path === '/__sim/faults') {
        this.faults.apply((body ?? {}) as SerializedFault);
        return reply(204);
      }
      if (method === 'DELETE' && path === '/__sim/faults') {
        this.faults.clear();
        return reply(204);
      }
      return reply(404, errorBody(404, `Cannot ${method} ${path}`));
    } catch (error) {
      if (error instanceof RangeError || error instanceof SyntaxError || error instanceof TypeError) {
        return reply(400, errorBody(400, error.message));
      }
      throw error;
    }
  }
}

/**
 * The whole body, up to MAX_UPLOAD_BYTES (the rest is read and dropped). Never rejects: a request
 * whose connection breaks ends with what came.
 */
function readBody(req: IncomingMessage): Promise<IncomingBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const done = (): void =>
      resolve({ bytes: Buffer.concat(chunks), tooLarge, contentType: req.headers['content-type'] });
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_UPLOAD_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', done);
    req.on('close', done);
    req.on('error', done);
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}
