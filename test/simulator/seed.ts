/**
 * Deterministic data for the DialNexa simulator. Everything derives from a numeric seed so that two
 * simulators built with the same seed and the same `addWorkflow` calls serve byte-identical data.
 *
 * Leads are never materialised: a lead is a pure function of (workflow seed, index), so a workflow
 * can enrol a million leads while the simulator only stores what changed (see workflow-store.ts).
 *
 * The free-text and free-form fields carry hostile values by default (hostile-values.ts), so that
 * every test archiving a workflow proves the archive keeps them:
 * - every workflow name (and title) has an emoji, right-to-left, combining, U+2028, NUL or
 *   lone-surrogate suffix; a non-null description adds up to 4 KB of hostile text;
 * - node labels mix scripts and emoji; every node's config has hostile `notes`, the entry node's
 *   config `variables` holds the whole catalogue (every string, key and number, 50-100 levels deep);
 * - `drop` edges leaving a node without call outcomes have a free-form hostile label;
 * - every lead's metadata has hostile `notes`, and names from lists that mix scripts, decomposed
 *   accents, an emoji and a cut surrogate pair; one lead in 8 (the first included) holds
 *   the catalogue under `crm`; one in 256 (index 100, 356, ...) a `call_transcript` of 16 KB to
 *   1 MB, so workflows of a few hundred leads stay fast to archive. Those transcripts average
 *   about 340 KB, gigabytes at a million leads: `maxTranscriptLength` (a simulator option) caps
 *   them for benchmarks, which measure the service, not the size of a few odd leads.
 * Ids, statuses, phone numbers, timestamps and positions stay as the contract describes them.
 */
import { HOSTILE_STRINGS, hostileCatalogue, longHostileText } from './hostile-values.ts';

export type WorkflowStatus = 'draft' | 'active' | 'running' | 'paused' | 'completed' | 'cancelled';
export type LeadStatus = 'pending' | 'in_progress' | 'completed' | 'removed' | 'failed' | 'active';

export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = [
  'draft',
  'active',
  'running',
  'paused',
  'completed',
  'cancelled',
];
export const LEAD_STATUSES: readonly LeadStatus[] = [
  'pending',
  'in_progress',
  'completed',
  'removed',
  'failed',
  'active',
];
/** A lead with one of these statuses is in transit unless it sits on a terminal node. */
export const TRANSIT_STATUSES: ReadonlySet<string> = new Set(['pending', 'in_progress', 'active']);
export const TERMINAL_NODE_TYPES: ReadonlySet<string> = new Set(['CONVERTED', 'DROPPED']);

/** Node types offered between the entry call and the terminal nodes. */
const MIDDLE_NODE_TYPES = ['TIME', 'VOICE_CALL', 'CONDITIONAL', 'SMS', 'WEBHOOK', 'APPLICATION'] as const;
/** Not in the documented list: clients must tolerate it, so the simulator serves it when asked for unknowns. */
export const UNKNOWN_NODE_TYPE = 'AI_SUMMARY';

const ALPHANUMERICS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const BASE_TIME_MS = Date.UTC(2024, 3, 1, 8, 0, 0, 0);
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines numbers into one well-mixed 32-bit seed; order matters. */
export function hash32(...parts: number[]): number {
  let h = 0x2545f491;
  for (const part of parts) {
    // Fold in the high bits too, so indices above 2^32 (never expected) still differ.
    const low = part >>> 0;
    const high = Math.floor(part / 4_294_967_296) >>> 0;
    h = fmix32(h ^ fmix32(low + 0x9e3779b9));
    h = fmix32(h ^ fmix32(high + 0x7f4a7c15));
  }
  return h;
}

export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

export class Rng {
  private readonly nextFloat: () => number;

  constructor(seed: number) {
    this.nextFloat = mulberry32(seed);
  }

  float(): number {
    return this.nextFloat();
  }

  int(minInclusive: number, maxInclusive: number): number {
    return minInclusive + Math.floor(this.nextFloat() * (maxInclusive - minInclusive + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.nextFloat() * items.length)] as T;
  }

  chance(probability: number): boolean {
    return this.nextFloat() < probability;
  }

  alphanumerics(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++)
      out += ALPHANUMERICS[Math.floor(this.nextFloat() * ALPHANUMERICS.length)];
    return out;
  }

  /** `<prefix>_<12 lowercase alphanumerics>`, the shape DialNexa uses for every id. */
  id(prefix: string): string {
    return `${prefix}_${this.alphanumerics(12)}`;
  }

  fakePhone(): string {
    return `+1415555${String(this.int(0, 9999)).padStart(4, '0')}`;
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function defaultOrgId(seed: number): string {
  return new Rng(hash32(seed, 0x0e6)).id('org');
}

// ---------------------------------------------------------------------------------------------
// Workflow, nodes, edges

export interface ApiNode {
  id: string;
  workflow_id: string;
  node_type: string;
  label: string;
  position_x: number;
  position_y: number;
  config: Record<string, unknown>;
  [unknownField: string]: unknown;
}

export interface ApiEdge {
  id: string;
  workflow_id: string;
  from_node_id: string;
  to_node_id: string;
  label?: string;
  [unknownField: string]: unknown;
}

export interface GeneratedWorkflow {
  id: string;
  /** Seed of everything below the workflow (nodes, edges, leads). */
  workflowSeed: number;
  name: string;
  description: string | null;
  createdAtMs: number;
  updatedAtMs: number;
  nodes: ApiNode[];
  edges: ApiEdge[];
}

export interface WorkflowShape {
  id?: string;
  nodes: number;
  edges: number;
  /** Serve unknown node types and unknown fields on nodes, for tolerance tests. */
  unknowns: boolean;
}

const WORKFLOW_NAMES = [
  '30-Day Lead Nurture',
  'Solar Callback Sequence',
  'Spring Renewal Campaign',
  'Missed Appointment Recovery',
  'Insurance Quote Follow-up',
  'Webinar No-Show Outreach',
  'Dormant Account Reactivation',
  'New Mover Welcome Calls',
];

/** Every workflow name gets one: names are typed (or pasted) by people, in any script. */
const NAME_SUFFIXES = [
  ' \u{1F680}',
  ' \u2014 \u062D\u0645\u0644\u0629 \u0627\u0644\u0631\u0628\u064A\u0639',
  ' (\u05E9\u05DC\u05D1 2)',
  ' v2\u2028draft',
  ' \u{1F469}\u200D\u{1F4BB}\u{1F468}\u{1F3FD}\u200D\u{1F4BB} team',
  ' e\u0301te\u0301 2024',
  // a UI that truncated an emoji in half
  ' \ud83d',
  ' \u0000copy',
];

/** One to three hostile strings: the notes people leave on leads and nodes. */
function hostileNotes(rng: Rng): string {
  const kinds = Object.values(HOSTILE_STRINGS);
  const parts: string[] = [];
  for (let i = rng.int(1, 3); i > 0; i--) parts.push(rng.pick(kinds));
  return parts.join(' ');
}

const LABELS: Record<string, readonly string[]> = {
  VOICE_CALL: [
    'First call',
    'Follow-up call \u{1F4DE}',
    'Last-chance call',
    '\u0645\u0643\u0627\u0644\u0645\u0629 \u0623\u0648\u0644\u0649',
    'Qualifizierungs\u00ADanruf',
  ],
  TIME: [
    'Wait 2 days',
    'Wait until morning \u2600\uFE0F',
    '\u05D4\u05DE\u05EA\u05E0\u05D4 \u05E9\u05D1\u05D5\u05E2',
  ],
  CONDITIONAL: ['Answered?', 'Interested? \u{1F914}', 'Booked?\u2028(check CRM)'],
  SMS: ['Reminder text', 'Booking link text \u{1F517}', '\u30EA\u30DE\u30A4\u30F3\u30C0\u30FC'],
  WEBHOOK: ['Notify CRM', 'Sync to HubSpot \u2192 Salesforce'],
  APPLICATION: ['Book appointment', 'Envoyer le devis \u00E9\u0301'],
  CONVERTED: ['Converted \u2705', 'Converted'],
  DROPPED: ['Dropped', 'Dropped \u274C'],
  [UNKNOWN_NODE_TYPE]: ['Summarise call'],
};

function nodeConfig(type: string, rng: Rng): Record<string, unknown> {
  switch (type) {
    case 'VOICE_CALL':
      return { agent_id: rng.id('agent'), from_phone_number: rng.fakePhone() };
    case 'TIME':
      return { wait_seconds: rng.pick([3600, 86_400, 172_800, 604_800]) };
    case 'CONDITIONAL':
      return { field: 'call_outcome', operator: 'equals', value: 'ANSWERED' };
    case 'SMS':
      return {
        from_phone_number: rng.fakePhone(),
        body: `Hi {{first_name}} \u{1F44B} reply YES to book a call.\u2028${rng.pick(Object.values(HOSTILE_STRINGS))}`,
      };
    case 'WEBHOOK':
      return { url: 'https://hooks.example.com/dialnexa', method: 'POST' };
    case 'APPLICATION':
      return { application_id: rng.id('app') };
    case UNKNOWN_NODE_TYPE:
      return { model: 'summary-v2' };
    default:
      return {};
  }
}

/**
 * Node types by position: the first node is always a VOICE_CALL and, with three nodes or more,
 * the last two are the terminal CONVERTED and DROPPED so every workflow exercises both kinds.
 */
function nodeTypes(count: number, rng: Rng, unknowns: boolean): string[] {
  if (count === 0) return [];
  if (count === 1) return ['VOICE_CALL'];
  if (count === 2) return ['VOICE_CALL', 'CONVERTED'];
  const types = ['VOICE_CALL'];
  for (let i = 1; i < count - 2; i++) types.push(rng.pick(MIDDLE_NODE_TYPES));
  if (unknowns && count > 3) types[1] = UNKNOWN_NODE_TYPE;
  types.push('CONVERTED', 'DROPPED');
  return types;
}

function edgeLabel(fromType: string, kind: 'next' | 'drop' | 'extra', rng: Rng): string | undefined {
  if (fromType === 'VOICE_CALL') {
    if (kind === 'next') return 'COMPLETED';
    if (kind === 'drop') return 'NO_ANSWER';
    return rng.pick(['VOICEMAIL', 'FAILED', 'NO_ANSWER']);
  }
  if (fromType === 'CONDITIONAL') return kind === 'next' ? 'true' : 'false';
  // Labels are free-form; the chain stays unlabelled, since an unlabelled edge always matches.
  if (kind === 'drop') return `Give up \u2192 ${rng.pick(Object.values(HOSTILE_STRINGS))}`;
  return undefined;
}

export function generateWorkflow(seed: number, ordinal: number, shape: WorkflowShape): GeneratedWorkflow {
  const workflowSeed = hash32(seed, ordinal, 0x3f1);
  const rng = new Rng(workflowSeed);
  const id = shape.id ?? rng.id('wfl');
  const createdAtMs = BASE_TIME_MS + rng.int(0, 90) * DAY_MS + rng.int(0, DAY_MS - 1);
  const updatedAtMs = createdAtMs + rng.int(1, 48) * HOUR_MS + rng.int(0, 999);
  const name = `${rng.pick(WORKFLOW_NAMES)}${rng.pick(NAME_SUFFIXES)}`;
  const description = rng.chance(0.5)
    ? null
    : `${name}: automated outreach generated by the simulator.\u2029${longHostileText(rng.int(200, 4096))}`;

  const types = nodeTypes(shape.nodes, rng, shape.unknowns);
  const nodes: ApiNode[] = types.map((type, index) => {
    const node: ApiNode = {
      id: rng.id('node'),
      workflow_id: id,
      node_type: type,
      label: rng.pick(LABELS[type] ?? ['Step']),
      position_x: 120 + (index % 4) * 240,
      position_y: 80 + Math.floor(index / 4) * 160,
      config: { ...nodeConfig(type, rng), notes: hostileNotes(rng) },
    };
    if (index === 0) node.config.variables = hostileCatalogue(rng.int(50, 100));
    if (shape.unknowns) {
      node.ui_color = `#${rng.alphanumerics(6).replace(/[g-z]/g, 'a')}`;
      node.retry_policy = { max_attempts: rng.int(1, 5), backoff: 'exponential' };
    }
    return node;
  });

  const edges = generateEdges(id, nodes, shape.edges, rng, shape.unknowns);
  return { id, workflowSeed, name, description, createdAtMs, updatedAtMs, nodes, edges };
}

function generateEdges(
  workflowId: string,
  nodes: readonly ApiNode[],
  count: number,
  rng: Rng,
  unknowns: boolean,
): ApiEdge[] {
  if (count > 0 && nodes.length === 0) throw new RangeError('a workflow without nodes cannot have edges');
  const nonTerminal = nodes.filter((node) => !TERMINAL_NODE_TYPES.has(node.node_type));
  const dropped = nodes.find((node) => node.node_type === 'DROPPED');
  // Plausible graph first (a chain through the steps, a "no answer" exit from each step), then
  // random extra edges up to the requested count.
  const planned: Array<{ from: ApiNode; to: ApiNode; kind: 'next' | 'drop' | 'extra' }> = [];
  for (let i = 0; i < nodes.length - 1 && !TERMINAL_NODE_TYPES.has(nodes[i]!.node_type); i++) {
    planned.push({ from: nodes[i]!, to: nodes[i + 1]!, kind: 'next' });
  }
  if (dropped) for (const from of nonTerminal) planned.push({ from, to: dropped, kind: 'drop' });

  const sources = nonTerminal.length > 0 ? nonTerminal : nodes;
  const edges: ApiEdge[] = [];
  for (let i = 0; i < count; i++) {
    let plan = planned[i];
    if (!plan) {
      const from = rng.pick(sources);
      const targets = nodes.length > 1 ? nodes.filter((node) => node !== from) : nodes;
      plan = { from, to: rng.pick(targets), kind: 'extra' };
    }
    const edge: ApiEdge = {
      id: rng.id('edge'),
      workflow_id: workflowId,
      from_node_id: plan.from.id,
      to_node_id: plan.to.id,
    };
    const label = edgeLabel(plan.from.node_type, plan.kind, rng);
    if (label !== undefined) edge.label = label;
    if (unknowns) edge.weight = rng.int(1, 10);
    edges.push(edge);
  }
  return edges;
}

// ---------------------------------------------------------------------------------------------
// Leads

export interface LeadCore {
  status: LeadStatus;
  /** Index into the workflow's nodes, or -1 when the workflow has no nodes. */
  nodeIndex: number;
}

export interface ApiLead {
  id: string;
  workflow_id: string;
  phone_number: string;
  metadata: Record<string, unknown>;
  status: LeadStatus;
  current_node_id: string | null;
  entered_node_at: string | null;
  release_at: string | null;
  call_id: string | null;
  enrolled_at: string;
  created_at: string;
  [unknownField: string]: unknown;
}

export interface ApiHistoryEntry {
  node_id: string;
  node_label: string;
  node_type: string;
  status: string;
  call_id: string | null;
  entered_at: string;
  exited_at: string | null;
}

const FIRST_NAMES = [
  'Ana',
  'Ben',
  'Chloe',
  'Dev',
  'Elif',
  'Femi',
  'Grace',
  'Hiro',
  'Ines',
  'Jamal',
  'Kai',
  'Lena',
  // decomposed accents, other scripts, an emoji and a name a CSV export cut mid-character
  'Jose\u0301',
  'Zoe\u0308',
  '\u0645\u062D\u0645\u062F',
  '\u05D3\u05E0\u05D4',
  '\u674E\u96F7',
  'Siobh\u00E1n \u{1F340}',
  'Ma\ud83d',
];
const LAST_NAMES = [
  'Garcia',
  'Okafor',
  'Nguyen',
  'Schmidt',
  'Rossi',
  'Kowalski',
  'Tanaka',
  'Haddad',
  'Nguye\u0302\u0303n',
  'O\'Brien "Jr"',
  '\u0627\u0644\u062D\u062F\u0627\u062F',
  'van\u00A0der\u00A0Berg',
];

/** Leads at these indices hold the whole hostile catalogue; the first lead always does. */
const CATALOGUE_EVERY = 8;
/** Leads at index 100, 356, 612, ... hold a long transcript, cycling through these sizes. */
const TRANSCRIPT_EVERY = 256;
const TRANSCRIPT_AT = 100;
const TRANSCRIPT_LENGTHS = [1 << 20, 1 << 16, 1 << 18, 1 << 14];

// Lead ids are a keyed bijection of the lead index into 60 bits, written in base 36: they look
// random, yet `indexOf` recovers the index without any table, which is what keeps leads lazy.
const ID_BITS = 60n;
const ID_MASK = (1n << ID_BITS) - 1n;
const LEAD_ID_LENGTH = 12;

function oddConstant(a: number, b: number): bigint {
  return (((BigInt(a) << 28n) ^ BigInt(b) ^ 0x5deece66dn) & ID_MASK) | 1n;
}

function inverseMod2k(odd: bigint): bigint {
  // Newton's iteration doubles the correct low bits each round: 1 -> 2 -> ... -> 64 bits.
  let inverse = odd;
  for (let i = 0; i < 6; i++) inverse = (inverse * (2n - odd * inverse)) & ID_MASK;
  return inverse & ID_MASK;
}

function xorShiftRight(value: bigint, shift: bigint): bigint {
  return value ^ (value >> shift);
}

function undoXorShiftRight(value: bigint, shift: bigint): bigint {
  let result = value;
  for (let s = shift; s < ID_BITS; s += shift) result ^= value >> s;
  return result;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export interface LeadPlan {
  workflowId: string;
  workflowSeed: number;
  nodes: readonly ApiNode[];
  /** Leads enrolled when the workflow was created; the in-transit choice is made among them. */
  initialCount: number;
  inTransit: number;
  workflowCreatedAtMs: number;
  unknowns: boolean;
  /** Cuts every `call_transcript` to at most this many UTF-16 code units; unset keeps 16 KB to 1 MB. */
  maxTranscriptLength?: number;
}

/** Pure functions of (plan, index) describing each lead as first generated. */
export class LeadGenerator {
  private readonly plan: LeadPlan;
  private readonly stride: number;
  private readonly offset: number;
  private readonly nonTerminal: number[];
  private readonly converted: number;
  private readonly dropped: number;
  private readonly key: bigint;
  private readonly multiplierA: bigint;
  private readonly multiplierB: bigint;
  private readonly inverseA: bigint;
  private readonly inverseB: bigint;

  constructor(plan: LeadPlan) {
    if (plan.inTransit > plan.initialCount) throw new RangeError('inTransitLeads cannot exceed leads');
    this.plan = plan;
    const seed = plan.workflowSeed;
    // rank(i) = (i * stride + offset) mod n is a permutation of [0, n) when gcd(stride, n) = 1;
    // leads whose rank is below `inTransit` are in transit: exactly that many, spread out.
    const n = Math.max(plan.initialCount, 1);
    let stride = Math.max(1, Math.floor(n * 0.6180339887)) + (hash32(seed, 1) % 7);
    while (gcd(stride, n) !== 1) stride++;
    this.stride = stride % n || 1;
    this.offset = hash32(seed, 2) % n;
    this.nonTerminal = [];
    plan.nodes.forEach((node, index) => {
      if (!TERMINAL_NODE_TYPES.has(node.node_type)) this.nonTerminal.push(index);
    });
    if (plan.inTransit > 0 && this.nonTerminal.length === 0) {
      throw new RangeError('leads can only be in transit on a non-terminal node');
    }
    this.converted = plan.nodes.findIndex((node) => node.node_type === 'CONVERTED');
    this.dropped = plan.nodes.findIndex((node) => node.node_type === 'DROPPED');
    this.key = oddConstant(hash32(seed, 3), hash32(seed, 4)) ^ 1n;
    this.multiplierA = oddConstant(hash32(seed, 5), hash32(seed, 6));
    this.multiplierB = oddConstant(hash32(seed, 7), hash32(seed, 8));
    this.inverseA = inverseMod2k(this.multiplierA);
    this.inverseB = inverseMod2k(this.multiplierB);
  }

  get hasTransitNodes(): boolean {
    return this.nonTerminal.length > 0;
  }

  idOf(index: number): string {
    let v = (BigInt(index) ^ this.key) & ID_MASK;
    v = (v * this.multiplierA) & ID_MASK;
    v = xorShiftRight(v, 31n);
    v = (v * this.multiplierB) & ID_MASK;
    v = xorShiftRight(v, 29n);
    return `wlead_${v.toString(36).padStart(LEAD_ID_LENGTH, '0')}`;
  }

  /** The index whose id this is, or undefined for an id this workflow never issued. */
  indexOf(leadId: string): number | undefined {
    const match = /^wlead_([0-9a-z]{12})$/.exec(leadId);
    if (!match) return undefined;
    let v = 0n;
    for (const char of match[1]!) v = v * 36n + BigInt(parseInt(char, 36));
    if (v > ID_MASK) return undefined;
    v = undoXorShiftRight(v, 29n);
    v = (v * this.inverseB) & ID_MASK;
    v = undoXorShiftRight(v, 31n);
    v = (v * this.inverseA) & ID_MASK;
    v ^= this.key;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }

  private rngFor(index: number, stream: number): Rng {
    return new Rng(hash32(this.plan.workflowSeed, index, stream));
  }

  /** Status and position only: cheap enough to evaluate for every lead when filtering. */
  core(index: number): LeadCore {
    const rng = this.rngFor(index, 1);
    const { nodes, initialCount, inTransit } = this.plan;
    if (index >= initialCount) {
      // Enrolled after creation: waiting at the entry step.
      return { status: 'pending', nodeIndex: this.nonTerminal[0] ?? (nodes.length > 0 ? 0 : -1) };
    }
    const rank = (index * this.stride + this.offset) % initialCount;
    if (rank < inTransit) {
      const roll = rng.float();
      const status: LeadStatus = roll < 0.45 ? 'pending' : roll < 0.9 ? 'in_progress' : 'active';
      return { status, nodeIndex: rng.pick(this.nonTerminal) };
    }
    if (nodes.length === 0)
      return { status: rng.pick(['completed', 'removed', 'failed'] as const), nodeIndex: -1 };
    const anyStep = (): number =>
      this.nonTerminal.length > 0 ? rng.pick(this.nonTerminal) : rng.int(0, nodes.length - 1);
    const roll = rng.float();
    if (roll < 0.4)
      return { status: 'completed', nodeIndex: this.converted >= 0 ? this.converted : anyStep() };
    if (roll < 0.7) return { status: 'removed', nodeIndex: this.dropped >= 0 ? this.dropped : anyStep() };
    if (roll < 0.85) return { status: 'failed', nodeIndex: anyStep() };
    const terminal = [this.converted, this.dropped].filter((i) => i >= 0);
    // A few leads keep a "live" status on a terminal node: not in transit, by the documented rule.
    if (roll < 0.9 && terminal.length > 0)
      return { status: rng.pick(['in_progress', 'active'] as const), nodeIndex: rng.pick(terminal) };
    return { status: 'completed', nodeIndex: terminal.length > 0 ? rng.pick(terminal) : anyStep() };
  }

  private enrolledAtMs(index: number, rng: Rng): number {
    return this.plan.workflowCreatedAtMs + HOUR_MS + index * 7_000 + rng.int(0, 4_999);
  }

  /** The lead as first generated; the store applies status overrides and settlement on top. */
  record(index: number, core: LeadCore = this.core(index)): ApiLead {
    const rng = this.rngFor(index, 2);
    const node = core.nodeIndex >= 0 ? this.plan.nodes[core.nodeIndex] : undefined;
    const enrolledAtMs = this.enrolledAtMs(index, rng);
    // Every draw happens whatever the status, so a status change never shifts the other fields.
    const enteredNodeAtMs = enrolledAtMs + rng.int(0, 3 * DAY_MS);
    const releaseAtMs = enteredNodeAtMs + rng.int(1, 72) * HOUR_MS;
    const createdAtMs = enrolledAtMs - rng.int(0, 60_000);
    const callId = rng.id('call');
    const phone = rng.fakePhone();
    const firstName = rng.pick(FIRST_NAMES);
    const lastName = rng.pick(LAST_NAMES);
    const company = `${rng.pick(LAST_NAMES)} & Co`;
    const metadata: Record<string, unknown> = {
      first_name: firstName,
      last_name: lastName,
      ...(rng.chance(0.3) ? { company } : {}),
      ...this.hostileMetadata(index),
    };
    const leadScore = rng.int(0, 100);
    const source = rng.pick(['csv_import', 'api', 'hubspot_sync']);

    const inTransit = node !== undefined && isInTransit(core.status, node.node_type);
    const lead: ApiLead = {
      id: this.idOf(index),
      workflow_id: this.plan.workflowId,
      phone_number: phone,
      metadata,
      status: core.status,
      current_node_id: node?.id ?? null,
      entered_node_at: node ? iso(enteredNodeAtMs) : null,
      release_at: inTransit ? iso(releaseAtMs) : null,
      call_id: node && (node.node_type === 'VOICE_CALL' || core.status === 'completed') ? callId : null,
      enrolled_at: iso(enrolledAtMs),
      created_at: iso(createdAtMs),
    };
    if (this.plan.unknowns) {
      lead.lead_score = leadScore;
      lead.source = source;
    }
    return lead;
  }

  /** From a stream of its own, so that the draws of the other fields stay where they were. */
  private hostileMetadata(index: number): Record<string, unknown> {
    const rng = this.rngFor(index, 4);
    const extra: Record<string, unknown> = { notes: hostileNotes(rng) };
    if (index % CATALOGUE_EVERY === 0) extra.crm = hostileCatalogue(rng.int(50, 100));
    if (index % TRANSCRIPT_EVERY === TRANSCRIPT_AT) {
      const length = TRANSCRIPT_LENGTHS[Math.floor(index / TRANSCRIPT_EVERY) % TRANSCRIPT_LENGTHS.length]!;
      extra.call_transcript = longHostileText(Math.min(length, this.plan.maxTranscriptLength ?? length));
    }
    return extra;
  }

  /** Steps the lead went through, ending at its current node. */
  history(index: number, lead: ApiLead, inTransit: boolean): ApiHistoryEntry[] {
    const { nodes } = this.plan;
    const current = nodes.findIndex((node) => node.id === lead.current_node_id);
    if (current < 0 || lead.entered_node_at === null) return [];
    const rng = this.rngFor(index, 3);
    const earlierCandidates = this.nonTerminal.filter((i) => i !== current);
    // A lead that reached a terminal node got there through at least one step.
    const minimum = TERMINAL_NODE_TYPES.has(nodes[current]!.node_type) ? 1 : 0;
    const earlierCount = Math.min(earlierCandidates.length, rng.int(minimum, 2));
    const earlier: number[] = [];
    const pool = [...earlierCandidates];
    while (earlier.length < earlierCount) earlier.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]!);
    earlier.sort((a, b) => a - b);
    const enrolledAtMs = Date.parse(lead.enrolled_at);
    const enteredCurrentMs = Date.parse(lead.entered_node_at);
    const span = Math.max(earlier.length, 1);
    const entries: ApiHistoryEntry[] = earlier.map((nodeIndex, step) => {
      const node = nodes[nodeIndex]!;
      const enteredAt = enrolledAtMs + Math.floor(((enteredCurrentMs - enrolledAtMs) * step) / span);
      const exitedAt = enrolledAtMs + Math.floor(((enteredCurrentMs - enrolledAtMs) * (step + 1)) / span);
      return {
        node_id: node.id,
        node_label: node.label,
        node_type: node.node_type,
        status: 'completed',
        call_id: node.node_type === 'VOICE_CALL' ? rng.id('call') : null,
        entered_at: iso(enteredAt),
        exited_at: iso(exitedAt),
      };
    });
    const node = nodes[current]!;
    entries.push({
      node_id: node.id,
      node_label: node.label,
      node_type: node.node_type,
      status: lead.status,
      call_id: lead.call_id,
      entered_at: lead.entered_node_at,
      exited_at: inTransit ? null : iso(enteredCurrentMs + rng.int(1_000, HOUR_MS)),
    });
    return entries;
  }
}

export function isInTransit(status: string, nodeType: string | undefined): boolean {
  return TRANSIT_STATUSES.has(status) && nodeType !== undefined && !TERMINAL_NODE_TYPES.has(nodeType);
}

/** What an in-transit lead becomes once a cancelled workflow has settled. */
export function settledStatus(status: LeadStatus): LeadStatus {
  return status === 'pending' ? 'removed' : 'completed';
}
