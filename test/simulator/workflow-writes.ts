/**
 * The endpoints a restore uses (dialnexa-api.md, "Endpoints a restore uses"): create a workflow,
 * a node, an edge, upload leads, delete a node or an edge. Bodies are validated the way a NestJS
 * `ValidationPipe` with `whitelist` and `forbidNonWhitelisted` does: every problem is one message
 * of a 400's `message` array, and a property the endpoint does not take (an `id`, say: the server
 * mints every id) is refused. What the document leaves open is inferred, and the README's
 * simulator section lists each inference.
 */
import { Rng, hash32, iso } from './seed.ts';
import type { ApiEdge, ApiLead, ApiNode } from './seed.ts';
import type { UploadRow } from './lead-upload.ts';
import type { SimWorkflow } from './workflow-store.ts';

/** What a write answers: a success body, or an error's status and NestJS message. */
export type WriteAnswer =
  { status: 200 | 201; body: unknown } | { status: number; message: string | string[] };

export interface NewWorkflowFields {
  title: string;
  description: string | null;
}

/** Statuses in which a workflow's graph may change (inferred for edges and deletes from the node rule). */
const EDITABLE = new Set(['draft', 'paused']);
/** Statuses in which a workflow takes no new leads (inferred: they enrol no one). */
const CLOSED = new Set(['cancelled', 'completed']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownProperties(body: Record<string, unknown>, allowed: readonly string[]): string[] {
  return Object.keys(body)
    .filter((key) => !allowed.includes(key))
    .map((key) => `property ${key} should not exist`);
}

function requiredString(body: Record<string, unknown>, name: string, problems: string[]): string {
  const value = body[name];
  if (typeof value !== 'string') {
    problems.push(`${name} must be a string`, `${name} should not be empty`);
    return '';
  }
  if (value === '') problems.push(`${name} should not be empty`);
  return value;
}

function optionalString(body: Record<string, unknown>, name: string, problems: string[]): string | null {
  const value = body[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') problems.push(`${name} must be a string`);
  return typeof value === 'string' ? value : null;
}

function finiteNumber(body: Record<string, unknown>, name: string, problems: string[]): number {
  const value = body[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    problems.push(`${name} must be a number conforming to the specified constraints`);
    return 0;
  }
  return value;
}

/** A body that is not a JSON object is validated as `{}`, as NestJS does with what it cannot bind. */
function objectBody(body: unknown): Record<string, unknown> {
  return isObject(body) ? body : {};
}

export function validateNewWorkflow(raw: unknown): NewWorkflowFields | string[] {
  const body = objectBody(raw);
  const problems = unknownProperties(body, ['title', 'description', 'status']);
  const title = requiredString(body, 'title', problems);
  const description = optionalString(body, 'description', problems);
  if (body.status !== undefined && body.status !== 'draft') {
    problems.push('status must be one of the following values: draft');
  }
  return problems.length > 0 ? problems : { title, description };
}

/**
 * The agents and caller-id phone numbers of each organisation: organisation-level, so they stay
 * known after the workflows that used them are deleted. Learnt from every workflow the simulator
 * serves; a test can add more.
 */
export class OrgResources {
  private readonly agents = new Map<string, Set<string>>();
  private readonly phoneNumbers = new Map<string, Set<string>>();

  learnFrom(orgId: string, nodes: readonly ApiNode[]): void {
    for (const node of nodes) {
      const config = isObject(node.config) ? node.config : {};
      if (typeof config['agent_id'] === 'string') this.addAgent(orgId, config['agent_id']);
      if (typeof config['from_phone_number'] === 'string')
        this.addPhoneNumber(orgId, config['from_phone_number']);
    }
  }

  addAgent(orgId: string, agentId: string): void {
    this.setOf(this.agents, orgId).add(agentId);
  }

  addPhoneNumber(orgId: string, phoneNumber: string): void {
    this.setOf(this.phoneNumbers, orgId).add(phoneNumber);
  }

  /** The 400 messages for `config` references this organisation does not have. */
  referenceProblems(orgId: string, config: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const agent = config['agent_id'];
    if (
      agent !== undefined &&
      agent !== null &&
      !(typeof agent === 'string' && this.agents.get(orgId)?.has(agent))
    ) {
      problems.push('config.agent_id must reference an existing agent of this organization');
    }
    const phone = config['from_phone_number'];
    if (
      phone !== undefined &&
      phone !== null &&
      !(typeof phone === 'string' && this.phoneNumbers.get(orgId)?.has(phone))
    ) {
      problems.push('config.from_phone_number must be a phone number of this organization');
    }
    return problems;
  }

  private setOf(map: Map<string, Set<string>>, orgId: string): Set<string> {
    let set = map.get(orgId);
    if (!set) map.set(orgId, (set = new Set()));
    return set;
  }
}

/** Server-minted ids, `<prefix>_<12 lowercase alphanumerics>`, deterministic per simulator seed. */
export class IdMinter {
  private readonly seed: number;
  private count = 0;

  constructor(seed: number) {
    this.seed = seed;
  }

  mint(prefix: string, taken: (id: string) => boolean = () => false): string {
    for (;;) {
      const id = new Rng(hash32(this.seed, 0x5e7, this.count++)).id(prefix);
      if (!taken(id)) return id;
    }
  }
}

export interface WriteContext {
  ids: IdMinter;
  resources: OrgResources;
  now: number;
}

export interface NewNodeFields {
  node_type: string;
  label: string;
  position_x: number;
  position_y: number;
  config: Record<string, unknown>;
}

export interface NewEdgeFields {
  from_node_id: string;
  to_node_id: string;
  label: string | null;
}

export function validateNewNode(raw: unknown): NewNodeFields | string[] {
  const body = objectBody(raw);
  const problems = unknownProperties(body, ['node_type', 'label', 'position_x', 'position_y', 'config']);
  const nodeType = requiredString(body, 'node_type', problems);
  if (typeof body.label !== 'string') problems.push('label must be a string');
  const positionX = finiteNumber(body, 'position_x', problems);
  const positionY = finiteNumber(body, 'position_y', problems);
  if (!isObject(body.config)) problems.push('config must be an object');
  if (problems.length > 0) return problems;
  return {
    node_type: nodeType,
    label: body.label as string,
    position_x: positionX,
    position_y: positionY,
    config: body.config as Record<string, unknown>,
  };
}

export function validateNewEdge(raw: unknown): NewEdgeFields | string[] {
  const body = objectBody(raw);
  const problems = unknownProperties(body, ['from_node_id', 'to_node_id', 'label']);
  const from = requiredString(body, 'from_node_id', problems);
  const to = requiredString(body, 'to_node_id', problems);
  const label = optionalString(body, 'label', problems);
  return problems.length > 0 ? problems : { from_node_id: from, to_node_id: to, label };
}

/** After validation, as DialNexa's service would: the workflow's state, then the references. */
export function createNode(workflow: SimWorkflow, fields: NewNodeFields, ctx: WriteContext): WriteAnswer {
  if (!EDITABLE.has(workflow.status)) return notEditable(workflow, 'Nodes');
  const problems = ctx.resources.referenceProblems(workflow.orgId, fields.config);
  if (problems.length > 0) return { status: 400, message: problems };
  const node: ApiNode = {
    id: ctx.ids.mint('node', (id) => workflow.nodes.some((n) => n.id === id)),
    workflow_id: workflow.id,
    ...fields,
  };
  workflow.addNode(node);
  workflow.updatedAtMs = ctx.now;
  return { status: 201, body: node };
}

export function createEdge(workflow: SimWorkflow, fields: NewEdgeFields, ctx: WriteContext): WriteAnswer {
  const { from_node_id: from, to_node_id: to, label } = fields;
  for (const nodeId of [from, to]) {
    if (!workflow.nodes.some((node) => node.id === nodeId)) {
      return { status: 404, message: `Node ${nodeId} not found in this workflow` };
    }
  }
  if (!EDITABLE.has(workflow.status)) return notEditable(workflow, 'Edges');
  const duplicate = workflow.edges.some(
    (edge) => edge.from_node_id === from && edge.to_node_id === to && (edge.label ?? null) === label,
  );
  if (duplicate)
    return { status: 409, message: 'An edge with the same from_node_id, to_node_id and label exists' };
  const edge: ApiEdge = {
    id: ctx.ids.mint('edge', (id) => workflow.edges.some((e) => e.id === id)),
    workflow_id: workflow.id,
    from_node_id: from,
    to_node_id: to,
    ...(label === null ? {} : { label }),
  };
  workflow.addEdge(edge);
  workflow.updatedAtMs = ctx.now;
  return { status: 201, body: edge };
}

export function deleteNodeOrEdge(
  workflow: SimWorkflow,
  what: 'node' | 'edge',
  id: string | undefined,
  now: number,
): WriteAnswer {
  const exists =
    id !== undefined &&
    (what === 'node'
      ? workflow.nodes.some((node) => node.id === id)
      : workflow.edges.some((edge) => edge.id === id));
  if (!exists) return { status: 404, message: what === 'node' ? 'Node not found' : 'Edge not found' };
  if (!EDITABLE.has(workflow.status)) return notEditable(workflow, what === 'node' ? 'Nodes' : 'Edges');
  const result = what === 'node' ? workflow.removeNode(id, now) : workflow.removeEdge(id);
  if (result === 'occupied') return { status: 409, message: 'Node has enrolled leads and cannot be deleted' };
  workflow.updatedAtMs = now;
  return { status: 200, body: { message: what === 'node' ? 'Node deleted.' : 'Edge deleted.' } };
}

/**
 * Enrols the rows as new leads, `pending` at the entry node, in row order; answers the documented
 * body, whose map lists each phone number's new lead ids in row order.
 */
export function enrolUploadedLeads(
  workflow: SimWorkflow,
  rows: readonly UploadRow[],
  ctx: WriteContext,
): WriteAnswer {
  if (CLOSED.has(workflow.status)) {
    return { status: 409, message: `Workflow is ${workflow.status}. Leads cannot be added.` };
  }
  const entry = workflow.entryNode();
  const at = iso(ctx.now);
  const idsByPhone = new Map<string, string[]>();
  const leads: ApiLead[] = rows.map((row) => {
    const id = ctx.ids.mint('wlead', (candidate) => workflow.leadByIdView(candidate, ctx.now) !== undefined);
    idsByPhone.set(row.phone, [...(idsByPhone.get(row.phone) ?? []), id]);
    return {
      id,
      workflow_id: workflow.id,
      phone_number: row.phone,
      metadata: row.metadata,
      status: 'pending',
      current_node_id: entry?.id ?? null,
      entered_node_at: entry ? at : null,
      release_at: null,
      call_id: null,
      enrolled_at: at,
      created_at: at,
    };
  });
  workflow.uploadLeads(leads);
  workflow.updatedAtMs = ctx.now;
  return {
    status: 201,
    body: {
      statusCode: 201,
      message: 'Leads uploaded successfully',
      data: Object.fromEntries(idsByPhone),
      count: leads.length,
    },
  };
}

function notEditable(workflow: SimWorkflow, what: string): WriteAnswer {
  return {
    status: 409,
    message: `Workflow is ${workflow.status}. ${what} can only be changed while it is draft or paused.`,
  };
}
