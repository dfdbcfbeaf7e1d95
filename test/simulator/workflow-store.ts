/**
 * The mutable state of one simulated workflow. Nodes and edges are small and kept as generated;
 * leads are generated on demand (seed.ts) and only their changes are stored, in `overrides`.
 * A workflow can instead serve bodies a test gave it, verbatim (`served`).
 */
import {
  LEAD_STATUSES,
  LeadGenerator,
  TERMINAL_NODE_TYPES,
  isInTransit,
  iso,
  settledStatus,
} from './seed.ts';
import type {
  ApiEdge,
  ApiHistoryEntry,
  ApiLead,
  ApiNode,
  GeneratedWorkflow,
  LeadCore,
  LeadStatus,
  WorkflowStatus,
} from './seed.ts';

/** Where a workflow's leads come from; an index is a lead's position in enrolment order. */
export interface LeadSource {
  readonly hasTransitNodes: boolean;
  idOf(index: number): string;
  indexOf(leadId: string): number | undefined;
  core(index: number): LeadCore;
  /** The lead as served with the status (and so the position) in `core`. */
  record(index: number, core: LeadCore): ApiLead;
  history(index: number, lead: ApiLead, inTransit: boolean): ApiHistoryEntry[];
}

/**
 * Leads a test gave, served as given. Only what the simulator's own behaviour changes is changed:
 * a lead that settles after a cancel gets its new `status` (and `release_at: null` if it has one).
 */
export class ServedLeads implements LeadSource {
  private readonly leads: ApiLead[];
  private readonly nodes: readonly ApiNode[];
  private readonly indexById: Map<string, number>;

  /** `nodes` may grow later (nodes created through the API): it is read, never copied. */
  constructor(leads: ApiLead[], nodes: readonly ApiNode[]) {
    this.leads = leads;
    this.nodes = nodes;
    this.indexById = new Map(leads.map((lead, index) => [lead.id, index]));
  }

  get hasTransitNodes(): boolean {
    return this.nodes.some((node) => !TERMINAL_NODE_TYPES.has(node.node_type));
  }

  get length(): number {
    return this.leads.length;
  }

  /** Adds a lead; answers its index. */
  append(lead: ApiLead): number {
    this.indexById.set(lead.id, this.leads.length);
    this.leads.push(lead);
    return this.leads.length - 1;
  }

  idOf(index: number): string {
    const lead = this.leads[index];
    if (!lead) throw new RangeError('a workflow of served leads enrols no others');
    return lead.id;
  }

  indexOf(leadId: string): number | undefined {
    return this.indexById.get(leadId);
  }

  core(index: number): LeadCore {
    const lead = this.leads[index]!;
    return {
      status: lead.status,
      nodeIndex: this.nodes.findIndex((node) => node.id === lead.current_node_id),
    };
  }

  record(index: number, core: LeadCore): ApiLead {
    const lead = this.leads[index]!;
    if (core.status === lead.status) return lead;
    // spread, not assignment: it keeps an own `__proto__` key as a key
    return { ...lead, status: core.status, ...('release_at' in lead ? { release_at: null } : {}) };
  }

  history(_index: number, lead: ApiLead, inTransit: boolean): ApiHistoryEntry[] {
    const node = this.nodes.find((candidate) => candidate.id === lead.current_node_id);
    if (!node) return [];
    const enteredAt = lead.entered_node_at ?? lead.enrolled_at;
    return [
      {
        node_id: node.id,
        node_label: node.label,
        node_type: node.node_type,
        status: lead.status,
        call_id: lead.call_id ?? null,
        entered_at: enteredAt,
        exited_at: inTransit ? null : enteredAt,
      },
    ];
  }
}

/**
 * A workflow's own leads (generated or served) plus those uploaded through the API, which take
 * the next indices in enrolment order like any enrolment. Uploaded leads are served as uploaded.
 */
export class WithUploads implements LeadSource {
  private readonly base: LeadSource;
  private readonly nodes: readonly ApiNode[];
  private readonly uploads: ServedLeads;
  /** Workflow index -> index among the uploads, and back. */
  private readonly uploadAt = new Map<number, number>();
  private readonly indexOfUpload: number[] = [];

  constructor(base: LeadSource, nodes: readonly ApiNode[]) {
    this.base = base;
    this.nodes = nodes;
    this.uploads = new ServedLeads([], nodes);
  }

  get hasTransitNodes(): boolean {
    // every node the base's leads can sit on is among `nodes`, which grows with created nodes
    return this.nodes.some((node) => !TERMINAL_NODE_TYPES.has(node.node_type));
  }

  add(index: number, lead: ApiLead): void {
    const at = this.uploads.append(lead);
    this.uploadAt.set(index, at);
    this.indexOfUpload[at] = index;
  }

  idOf(index: number): string {
    const at = this.uploadAt.get(index);
    return at === undefined ? this.base.idOf(index) : this.uploads.idOf(at);
  }

  indexOf(leadId: string): number | undefined {
    const at = this.uploads.indexOf(leadId);
    if (at !== undefined) return this.indexOfUpload[at];
    const index = this.base.indexOf(leadId);
    // a generated id decodes to some index: not to one an upload took
    return index !== undefined && !this.uploadAt.has(index) ? index : undefined;
  }

  core(index: number): LeadCore {
    const at = this.uploadAt.get(index);
    return at === undefined ? this.base.core(index) : this.uploads.core(at);
  }

  record(index: number, core: LeadCore): ApiLead {
    const at = this.uploadAt.get(index);
    return at === undefined ? this.base.record(index, core) : this.uploads.record(at, core);
  }

  history(index: number, lead: ApiLead, inTransit: boolean): ApiHistoryEntry[] {
    const at = this.uploadAt.get(index);
    return at === undefined
      ? this.base.history(index, lead, inTransit)
      : this.uploads.history(at, lead, inTransit);
  }
}

export interface LeadOverride {
  deleted?: true;
  status?: LeadStatus;
}

export interface LeadView {
  lead: ApiLead;
  inTransit: boolean;
}

export interface WorkflowInit {
  generated: GeneratedWorkflow;
  orgId: string;
  status: WorkflowStatus;
  leads: number;
  inTransitLeads: number;
  extraFields: Record<string, unknown>;
  paginateNodes: boolean;
  unknowns: boolean;
  /** When the workflow starts out cancelled with leads in transit, they settle at this time. */
  settleAtMs?: number;
  /** How long its leads stay in transit after a cancel, when not the simulator's default. */
  settleMs?: number;
  /** See LeadPlan.maxTranscriptLength. */
  maxTranscriptLength?: number;
  /**
   * Bodies to serve instead of generated ones: the workflow (with its live `status`, and its
   * `updated_at` once changed) and the leads. `generated` then supplies the id, nodes and edges.
   * Without `workflow` (a workflow created through the API) the workflow body is built as usual.
   */
  served?: { workflow?: Record<string, unknown>; leads: ApiLead[] };
}

/** What removing a node or an edge did. */
export type RemoveResult = 'removed' | 'missing' | 'occupied';

export class SimWorkflow {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly description: string | null;
  readonly createdAtMs: number;
  readonly extraFields: Record<string, unknown>;
  readonly paginateNodes: boolean;
  readonly settleMs: number | undefined;
  status: WorkflowStatus;
  updatedAtMs: number;
  /** Once a cancelled workflow reaches this time, every lead still in transit has settled. */
  settleAtMs: number | undefined;

  private readonly generator: WithUploads;
  private readonly servedBody: Record<string, unknown> | undefined;
  private readonly initialUpdatedAtMs: number;
  /**
   * Every node and edge ever created, in creation order; removed ones stay (as tombstones) so
   * that a node's index, which generated leads refer to, never changes.
   */
  private readonly allNodes: ApiNode[];
  private readonly allEdges: ApiEdge[];
  private readonly removed = new Set<string>();
  private live: { nodes: readonly ApiNode[]; edges: readonly ApiEdge[] } | undefined;
  private readonly nodeTypeByIndex: string[];
  /** Leads ever enrolled, deleted ones included: indices are never reused. */
  private leadCount: number;
  private readonly overrides = new Map<number, LeadOverride>();
  /** Deleted indices, ascending, to map a list position to an index without scanning. */
  private readonly deletedSorted: number[] = [];
  /** Bumped on every lead change; keys the filter cache. */
  private version = 0;
  private filterCache: { key: string; indices: Int32Array | number[] } | undefined;

  constructor(init: WorkflowInit) {
    const { generated } = init;
    this.id = generated.id;
    this.orgId = init.orgId;
    this.name = generated.name;
    this.description = generated.description;
    this.createdAtMs = generated.createdAtMs;
    this.updatedAtMs = generated.updatedAtMs;
    this.allNodes = [...generated.nodes];
    this.allEdges = [...generated.edges];
    this.extraFields = init.extraFields;
    this.paginateNodes = init.paginateNodes;
    this.status = init.status;
    this.settleAtMs = init.settleAtMs;
    this.settleMs = init.settleMs;
    this.initialUpdatedAtMs = generated.updatedAtMs;
    this.nodeTypeByIndex = generated.nodes.map((node) => node.node_type);
    this.servedBody = init.served?.workflow;
    let base: LeadSource;
    if (init.served) {
      this.leadCount = init.served.leads.length;
      base = new ServedLeads(init.served.leads, this.allNodes);
    } else {
      this.leadCount = init.leads;
      // the generator's own copy: nodes created later must not move generated leads
      base = new LeadGenerator({
        workflowId: generated.id,
        workflowSeed: generated.workflowSeed,
        nodes: [...generated.nodes],
        initialCount: init.leads,
        inTransit: init.inTransitLeads,
        workflowCreatedAtMs: generated.createdAtMs,
        unknowns: init.unknowns,
        maxTranscriptLength: init.maxTranscriptLength,
      });
    }
    this.generator = new WithUploads(base, this.allNodes);
  }

  /** The nodes, in creation order. */
  get nodes(): readonly ApiNode[] {
    return this.liveLists().nodes;
  }

  /** The edges, in creation order (DialNexa follows the first matching one). */
  get edges(): readonly ApiEdge[] {
    return this.liveLists().edges;
  }

  private liveLists(): { nodes: readonly ApiNode[]; edges: readonly ApiEdge[] } {
    this.live ??= {
      nodes: this.allNodes.filter((node) => !this.removed.has(node.id)),
      edges: this.allEdges.filter((edge) => !this.removed.has(edge.id)),
    };
    return this.live;
  }

  addNode(node: ApiNode): void {
    this.allNodes.push(node);
    this.nodeTypeByIndex.push(node.node_type);
    this.live = undefined;
  }

  addEdge(edge: ApiEdge): void {
    this.allEdges.push(edge);
    this.live = undefined;
  }

  /** A node with leads on it stays (`occupied`); removing a node removes its edges too. */
  removeNode(nodeId: string, nowMs: number): RemoveResult {
    const index = this.allNodes.findIndex((node) => node.id === nodeId);
    if (index < 0 || this.removed.has(nodeId)) return 'missing';
    for (let lead = 0; lead < this.leadCount; lead++) {
      if (this.state(lead, nowMs)?.nodeIndex === index) return 'occupied';
    }
    this.removed.add(nodeId);
    for (const edge of this.allEdges) {
      if (edge.from_node_id === nodeId || edge.to_node_id === nodeId) this.removed.add(edge.id);
    }
    this.live = undefined;
    return 'removed';
  }

  removeEdge(edgeId: string): RemoveResult {
    if (!this.edges.some((edge) => edge.id === edgeId)) return 'missing';
    this.removed.add(edgeId);
    this.live = undefined;
    return 'removed';
  }

  /**
   * Where uploaded leads start: the first node (by creation) that no edge leads to, or the first
   * node when every node has an incoming edge; undefined without nodes.
   */
  entryNode(): ApiNode | undefined {
    const { nodes, edges } = this.liveLists();
    const targets = new Set(edges.map((edge) => edge.to_node_id));
    return nodes.find((node) => !targets.has(node.id)) ?? nodes[0];
  }

  /** Enrols uploaded leads (already shaped, with their ids) after every lead enrolled so far. */
  uploadLeads(leads: readonly ApiLead[]): void {
    for (const lead of leads) this.generator.add(this.leadCount++, lead);
    this.version++;
  }

  get enrolledLeads(): number {
    return this.leadCount - this.deletedSorted.length;
  }

  isSettled(nowMs: number): boolean {
    return this.settleAtMs !== undefined && nowMs >= this.settleAtMs;
  }

  toApi(): Record<string, unknown> {
    if (this.servedBody) {
      const changed = this.updatedAtMs !== this.initialUpdatedAtMs && 'updated_at' in this.servedBody;
      // overriding keys that exist keeps their position; a spread keeps an own `__proto__` key
      return {
        ...this.servedBody,
        status: this.status,
        ...(changed ? { updated_at: iso(this.updatedAtMs) } : {}),
      };
    }
    return {
      id: this.id,
      organization_id: this.orgId,
      name: this.name,
      title: this.name,
      description: this.description,
      status: this.status,
      node_count: this.nodes.length,
      edge_count: this.edges.length,
      enrolled_leads: this.enrolledLeads,
      created_at: iso(this.createdAtMs),
      updated_at: iso(this.updatedAtMs),
      ...this.extraFields,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Leads

  /** Effective status of a lead, or undefined when it was deleted or never existed. */
  private state(
    index: number,
    nowMs: number,
  ): { status: LeadStatus; nodeIndex: number; inTransit: boolean } | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.leadCount) return undefined;
    const override = this.overrides.get(index);
    if (override?.deleted) return undefined;
    const core = this.generator.core(index);
    let status = override?.status ?? core.status;
    let inTransit = isInTransit(status, this.nodeTypeByIndex[core.nodeIndex]);
    if (inTransit && this.isSettled(nowMs)) {
      status = settledStatus(status);
      inTransit = false;
    }
    return { status, nodeIndex: core.nodeIndex, inTransit };
  }

  private view(index: number, nowMs: number): LeadView | undefined {
    const state = this.state(index, nowMs);
    if (!state) return undefined;
    return { lead: this.generator.record(index, state), inTransit: state.inTransit };
  }

  leadByIdView(leadId: string, nowMs: number): LeadView | undefined {
    const index = this.generator.indexOf(leadId);
    return index === undefined ? undefined : this.view(index, nowMs);
  }

  history(leadId: string, nowMs: number): ApiHistoryEntry[] | undefined {
    const index = this.generator.indexOf(leadId);
    if (index === undefined) return undefined;
    const view = this.view(index, nowMs);
    return view ? this.generator.history(index, view.lead, view.inTransit) : undefined;
  }

  /** One page of leads in enrolment order, optionally only those with the given status. */
  leadPage(
    offset: number,
    limit: number,
    status: LeadStatus | undefined,
    nowMs: number,
  ): { items: ApiLead[]; total: number } {
    if (status !== undefined) {
      const indices = this.filtered(status, nowMs);
      const items: ApiLead[] = [];
      for (let i = offset; i < Math.min(indices.length, offset + limit); i++) {
        items.push(this.view(indices[i]!, nowMs)!.lead);
      }
      return { items, total: indices.length };
    }
    const items: ApiLead[] = [];
    for (let index = this.indexAtPosition(offset); index < this.leadCount && items.length < limit; index++) {
      const view = this.view(index, nowMs);
      if (view) items.push(view.lead);
    }
    return { items, total: this.enrolledLeads };
  }

  allLeads(nowMs: number): ApiLead[] {
    return this.leadPage(0, this.leadCount, undefined, nowMs).items;
  }

  private indexAtPosition(position: number): number {
    let index = position;
    for (const deleted of this.deletedSorted) {
      if (deleted <= index) index++;
      else break;
    }
    return index;
  }

  private filtered(status: LeadStatus, nowMs: number): Int32Array | number[] {
    // Settlement changes statuses without any write, so it is part of the cache key.
    const key = `${status}|${this.version}|${this.isSettled(nowMs)}`;
    if (this.filterCache?.key === key) return this.filterCache.indices;
    const matches: number[] = [];
    for (let index = 0; index < this.leadCount; index++) {
      if (this.state(index, nowMs)?.status === status) matches.push(index);
    }
    const indices = Int32Array.from(matches);
    this.filterCache = { key, indices };
    return indices;
  }

  countInTransit(nowMs: number): number {
    if (this.isSettled(nowMs) || !this.generator.hasTransitNodes) return 0;
    let count = 0;
    for (let index = 0; index < this.leadCount; index++) if (this.state(index, nowMs)?.inTransit) count++;
    return count;
  }

  hasLeadsInTransit(nowMs: number): boolean {
    if (this.isSettled(nowMs) || !this.generator.hasTransitNodes) return false;
    for (let index = 0; index < this.leadCount; index++) if (this.state(index, nowMs)?.inTransit) return true;
    return false;
  }

  setLeadStatus(leadId: string, status: LeadStatus): boolean {
    if (!LEAD_STATUSES.includes(status)) throw new RangeError(`unknown lead status ${status}`);
    const index = this.generator.indexOf(leadId);
    if (index === undefined || !this.state(index, Date.now())) return false;
    this.overrides.set(index, { ...this.overrides.get(index), status });
    this.version++;
    return true;
  }

  deleteLead(leadId: string): boolean {
    const index = this.generator.indexOf(leadId);
    if (index === undefined || !this.state(index, Date.now())) return false;
    this.overrides.set(index, { deleted: true });
    const at = this.deletedSorted.findIndex((deleted) => deleted > index);
    this.deletedSorted.splice(at < 0 ? this.deletedSorted.length : at, 0, index);
    this.version++;
    return true;
  }

  /** Appends freshly enrolled leads (pending at the entry step); returns their ids. */
  enrollLeads(count: number): string[] {
    if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(this.generator.idOf(this.leadCount + i));
    this.leadCount += count;
    this.version++;
    return ids;
  }
}
