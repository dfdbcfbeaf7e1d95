import { DomainError, isDomainError } from '../common/domain-error.js';
import type { JsonObject } from '../common/json.js';
import type { CreateRequestOptions } from '../dialnexa/dialnexa.client.js';
import type { LeadFile, LeadsTally } from './restore-leads.js';
import type { RestoreItem, RestoreItemKind } from './restore.js';
import type { RestoreItemLog } from './restore-item-log.js';
import { type NewEdge, type NewNode, outcomeUnknown, type RestoreUpstream } from './restore-upstream.js';

/** The archived workflow as the creating step reads it: leads stream, cut into files. */
export interface ArchivedWorkflow {
  restoreId: string;
  teardownId: string;
  workflow: { title: string; description: string | null };
  nodes: JsonObject[];
  edges: JsonObject[];
  /** The leads, cut into files; `tally` counts them, the excluded and the unencodable. */
  leadFiles: (tally?: LeadsTally) => AsyncIterable<LeadFile>;
}

/**
 * The description of a restored draft: the archived one, then a line naming the restore. DialNexa
 * lists no workflows, so this line is the only way to recognise a draft whose create answer was lost.
 */
export function restoredDescription(archived: string | null, restoreId: string, teardownId: string): string {
  const marker = `Restored by dialnexa-teardown restore ${restoreId} from teardown ${teardownId}.`;
  return archived ? `${archived}\n\n${marker}` : marker;
}

/**
 * The `creating` step: the workflow as a draft, its nodes, its edges in archived order, its leads,
 * and never an activation. Each object's intent is logged before its request and its new id after,
 * so after a crash or a lost answer an open intent is looked up upstream (nodes and edges in their
 * lists, leads by phone number) and sent again only when nothing matches: a restore resumed any
 * number of times creates one workflow and one copy of each node and edge.
 */
export class RestoreCreator {
  private items = new Map<string, RestoreItem>();

  constructor(
    private readonly upstream: RestoreUpstream,
    private readonly log: RestoreItemLog,
    /** `beforeSend` runs before each create's bytes leave (the runner checks its lease there). */
    private readonly opts: CreateRequestOptions = {},
  ) {}

  async createAll(archived: ArchivedWorkflow): Promise<string> {
    this.items = new Map((await this.log.items()).map((i) => [keyOf(i.kind, i.seq), i]));
    const workflowId = await this.createWorkflow(archived);
    const nodeIds = await this.createNodes(workflowId, archived.nodes);
    await this.createEdges(workflowId, archived.edges, nodeIds);
    await this.uploadLeads(workflowId, archived.leadFiles());
    return workflowId;
  }

  private async createWorkflow(archived: ArchivedWorkflow): Promise<string> {
    const done = this.items.get(keyOf('workflow', 0));
    if (done?.newId) return done.newId;
    const description = restoredDescription(
      archived.workflow.description,
      archived.restoreId,
      archived.teardownId,
    );
    if (done) throw draftUncertain(archived, done.intendedAt);
    // DialNexa lists no workflows, so an open draft intent ends the restore: it is written last,
    // once the rate gate let the request through, so that an abort while waiting there (a
    // shutdown, a lost lease) leaves no intent for a request that never went out
    let intent: RestoreItem | null = null;
    const beforeSend = async (): Promise<void> => {
      await this.opts.beforeSend?.();
      intent ??= await this.log.intend('workflow', 0, 'workflow');
    };
    const created = await this.send('workflow', 0, () =>
      this.upstream.createWorkflow(
        { title: archived.workflow.title, description },
        { ...this.opts, beforeSend },
      ),
    ).catch((error: unknown) => {
      if (intent && outcomeUnknown(error)) throw draftUncertain(archived, intent.intendedAt, error);
      throw error;
    });
    return this.record('workflow', 0, created);
  }

  private async createNodes(workflowId: string, nodes: JsonObject[]): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    let listed: JsonObject[] | null = null;
    for (const [seq, node] of nodes.entries()) {
      const oldId = stringOf(node, 'id');
      const body: NewNode = {
        node_type: stringOf(node, 'node_type'),
        label: stringOf(node, 'label'),
        position_x: numberOf(node, 'position_x'),
        position_y: numberOf(node, 'position_y'),
        config: (node['config'] ?? {}) as JsonObject,
      };
      const newId = await this.createOne(
        'node',
        seq,
        oldId,
        async () => {
          listed ??= (await this.upstream.listAll(workflowId, 'nodes', this.opts)).items;
          return this.unclaimed('node', listed).find((n) => sameNode(n, body)) ?? null;
        },
        () => this.upstream.createNode(workflowId, body, this.opts),
      );
      ids.set(oldId, newId);
    }
    return ids;
  }

  private async createEdges(
    workflowId: string,
    edges: JsonObject[],
    nodeIds: Map<string, string>,
  ): Promise<void> {
    for (const [seq, edge] of edges.entries()) {
      const label = edge['label'];
      const body: NewEdge = {
        from_node_id: mapped(nodeIds, stringOf(edge, 'from_node_id')),
        to_node_id: mapped(nodeIds, stringOf(edge, 'to_node_id')),
        ...(typeof label === 'string' ? { label } : {}),
      };
      const lookUp = async () => {
        const listed = (await this.upstream.listAll(workflowId, 'edges', this.opts)).items;
        return this.unclaimed('edge', listed).find((e) => sameEdge(e, body)) ?? null;
      };
      await this.createOne('edge', seq, stringOf(edge, 'id'), lookUp, () =>
        this.upstream.createEdge(workflowId, body, this.opts).catch(async (error: unknown) => {
          // 409: this (from, to, label) exists, created by an attempt whose answer was lost
          if (isDomainError(error) && error.code === 'UPSTREAM_CONFLICT') {
            const found = await lookUp();
            if (found) return found;
          }
          throw error;
        }),
      );
    }
  }

  private async uploadLeads(workflowId: string, files: AsyncIterable<LeadFile>): Promise<void> {
    let uploaded: Map<string, string[]> | null = null;
    for await (const file of files) {
      const done = this.items.get(keyOf('leads', file.seq));
      if (done?.leads) continue;
      if (done) {
        // an upload whose answer was lost: its leads are in the new workflow, by phone number
        uploaded ??= await this.leadIdsByPhone(workflowId);
        const found = mapLeads(file, uploaded);
        if (Object.keys(found).length > 0) {
          await this.log.record('leads', file.seq, `${Object.keys(found).length} leads`, found);
          continue;
        }
      } else {
        await this.log.intend('leads', file.seq, `leads-file-${file.seq}`);
      }
      const answer = await this.send('leads', file.seq, () =>
        this.upstream.uploadLeads(workflowId, file.csv, this.opts),
      );
      const leads = mapLeads(
        file,
        new Map(Object.entries(answer.leadIdsByPhone).map(([p, ids]) => [p, [...ids]])),
      );
      await this.log.record('leads', file.seq, `${Object.keys(leads).length} leads`, leads);
    }
  }

  /** One node or edge: adopted when recorded, looked up when its intent is open, else created. */
  private async createOne(
    kind: RestoreItemKind,
    seq: number,
    oldId: string,
    lookUp: () => Promise<JsonObject | null>,
    create: () => Promise<JsonObject>,
  ): Promise<string> {
    const done = this.items.get(keyOf(kind, seq));
    if (done?.newId) return done.newId;
    if (done) {
      const found = await lookUp();
      if (found) return this.record(kind, seq, found);
    } else {
      this.items.set(keyOf(kind, seq), await this.log.intend(kind, seq, oldId));
    }
    return this.record(kind, seq, await this.send(kind, seq, create));
  }

  /** Sends a create; an answer that says nothing was created withdraws the intent. */
  private async send<T>(kind: RestoreItemKind, seq: number, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (!outcomeUnknown(error)) {
        await this.log.withdraw(kind, seq);
        this.items.delete(keyOf(kind, seq));
      }
      throw error;
    }
  }

  private async record(kind: RestoreItemKind, seq: number, created: JsonObject): Promise<string> {
    const newId = stringOf(created, 'id');
    if (!newId) {
      throw new DomainError('UPSTREAM_BAD_RESPONSE', `DialNexa answered a ${kind} create without an id`);
    }
    await this.log.record(kind, seq, newId);
    const item = this.items.get(keyOf(kind, seq));
    this.items.set(keyOf(kind, seq), {
      ...(item ?? { kind, seq, oldId: '', intendedAt: new Date(), leads: null }),
      newId,
    });
    return newId;
  }

  /** Listed objects no recorded item claims already (two archived nodes may look alike). */
  private unclaimed(kind: RestoreItemKind, listed: JsonObject[]): JsonObject[] {
    const claimed = new Set(
      [...this.items.values()].filter((i) => i.kind === kind && i.newId).map((i) => i.newId),
    );
    return listed.filter((o) => !claimed.has(stringOf(o, 'id')));
  }

  private async leadIdsByPhone(workflowId: string): Promise<Map<string, string[]>> {
    const claimed = new Set<string>();
    for (const item of this.items.values()) for (const id of Object.values(item.leads ?? {})) claimed.add(id);
    const byPhone = new Map<string, string[]>();
    for await (const page of this.upstream.pages(workflowId, 'leads', this.opts)) {
      for (const lead of page.items) {
        const id = stringOf(lead, 'id');
        if (claimed.has(id)) continue;
        const phone = stringOf(lead, 'phone_number');
        byPhone.set(phone, [...(byPhone.get(phone) ?? []), id]);
      }
    }
    return byPhone;
  }
}

/** Each lead of the file to the next unused new id of its phone number (consumed from `byPhone`). */
function mapLeads(file: LeadFile, byPhone: Map<string, string[]>): Record<string, string> {
  const leads: Record<string, string> = {};
  for (const row of file.rows) {
    const next = byPhone.get(row.phone)?.shift();
    if (next) leads[row.oldId] = next;
  }
  return leads;
}

function draftUncertain(archived: ArchivedWorkflow, sentAfter: Date, cause?: unknown): DomainError {
  return new DomainError(
    'RESTORE_DRAFT_UNCERTAIN',
    `the answer to creating the draft workflow was lost: a draft titled as the archived workflow, whose description ends with "restore ${archived.restoreId}", may exist upstream (created after ${sentAfter.toISOString()}); DialNexa lists no workflows, so this restore stops rather than risk a second one: look for it, delete it if present, and request a new restore`,
    {
      retryable: false,
      cause,
      details: {
        title: archived.workflow.title,
        descriptionMarker: `restore ${archived.restoreId}`,
        sentAfter: sentAfter.toISOString(),
      },
    },
  );
}

function sameNode(listed: JsonObject, body: NewNode): boolean {
  return (
    listed['node_type'] === body.node_type &&
    listed['label'] === body.label &&
    listed['position_x'] === body.position_x &&
    listed['position_y'] === body.position_y &&
    sameJson(listed['config'] ?? {}, body.config)
  );
}

/**
 * JSON equality whatever the key order (DialNexa may serve keys in another order). Not canonical
 * JSON: RFC 8785 refuses lone surrogates, which archived configs may hold.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bRecord = b as Record<string, unknown>;
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], bRecord[k]));
}

function sameEdge(listed: JsonObject, body: NewEdge): boolean {
  return (
    listed['from_node_id'] === body.from_node_id &&
    listed['to_node_id'] === body.to_node_id &&
    (listed['label'] ?? null) === (body.label ?? null)
  );
}

function mapped(ids: Map<string, string>, oldId: string): string {
  const id = ids.get(oldId);
  if (!id)
    throw new DomainError(
      'ARCHIVE_VERIFICATION_FAILED',
      `an archived edge names node ${oldId}, which the archive lacks`,
    );
  return id;
}

function keyOf(kind: RestoreItemKind, seq: number): string {
  return `${kind}:${seq}`;
}

function stringOf(object: JsonObject, field: string): string {
  const value = object[field];
  return typeof value === 'string' ? value : '';
}

function numberOf(object: JsonObject, field: string): number {
  const value = object[field];
  return typeof value === 'number' ? value : 0;
}
