import type { LeadsCheckpoints, LeadsUpload } from '../../archive/leads-checkpoint.js';
import type { AuditEventType, NewAuditEvent } from '../../audit/audit-event.js';
import { DomainError } from '../../common/domain-error.js';
import { isRunning, type Teardown } from '../teardown.js';
import {
  LeaseLostError,
  type TeardownPatch,
  type TeardownRepository,
  TeardownStoppedError,
} from '../teardown.repository.js';

/** One write a runner attempted, accepted or not: tests assert on what a stale worker tried. */
export interface WriteAttempt {
  op: 'update' | 'gate:cancel' | 'gate:delete';
  token: bigint;
  accepted: boolean;
  events: AuditEventType[];
}

/**
 * TeardownRepository in memory, with the rules that matter to a runner kept as the real one keeps
 * them: each claim moves the fencing token on, `update` refuses a stale token (LeaseLostError) or
 * an unexpected status (TeardownStoppedError), and `passDestructiveGate` checks what its
 * transaction checks (live lease, status, committed archive events, no hold) before recording the
 * intent. Audit events committed by `update` land in `events`, the fake audit log.
 */
export class FakeTeardownRepository {
  readonly events: NewAuditEvent[] = [];
  readonly writes: WriteAttempt[] = [];
  private readonly rows = new Map<string, Teardown>();
  private readonly holds = new Set<string>();
  private readonly onCommit = new Map<AuditEventType, () => void>();

  /** `timeline` receives `audit <type>` at each commit, beside the fake client's requests. */
  constructor(private readonly timeline: string[] = []) {}

  /** Stores a teardown and the audit events an earlier worker committed for it. */
  seed(teardown: Teardown, committed: AuditEventType[] = []): this {
    this.rows.set(teardown.id, structuredClone(teardown));
    for (const type of committed) {
      this.events.push({
        actor: 'system',
        teardownId: teardown.id,
        workflowId: teardown.workflowId,
        type,
        details: {},
      });
    }
    return this;
  }

  /** The stored row, as a test reads it after the run. */
  row(id: string): Teardown {
    const row = this.rows.get(id);
    if (!row) throw new Error(`no teardown ${id}`);
    return structuredClone(row);
  }

  eventTypes(): AuditEventType[] {
    return this.events.map((e) => e.type);
  }

  /** Runs `then` right after the transaction that commits an event of `type`. */
  afterCommitOf(type: AuditEventType, then: () => void): this {
    this.onCommit.set(type, then);
    return this;
  }

  placeHold(workflowId: string): void {
    this.holds.add(workflowId);
  }

  /** What the API's abort does: the status changes under the runner, its token stays. */
  abort(id: string): void {
    const row = this.mutable(id);
    row.status = 'aborted';
    row.completedAt = new Date();
  }

  /** Another worker claims the teardown, as if this worker's lease had run out meanwhile. */
  takeOver(id: string): void {
    const row = this.mutable(id);
    row.fencingToken += 1n;
    row.claimsSinceProgress += 1;
    row.leaseOwner = 'other-worker';
    row.leaseExpiresAt = new Date(Date.now() + 60_000);
  }

  async findById(id: string): Promise<Teardown | null> {
    const row = this.rows.get(id);
    return row ? structuredClone(row) : null;
  }

  async claim(id: string, owner: string, leaseSeconds: number): Promise<Teardown | null> {
    const row = this.rows.get(id);
    if (!row || !isRunning(row.status) || this.leaseLive(row)) return null;
    row.fencingToken += 1n;
    row.claimsSinceProgress += 1;
    row.leaseOwner = owner;
    row.leaseExpiresAt = new Date(Date.now() + leaseSeconds * 1000);
    row.updatedAt = new Date();
    return structuredClone(row);
  }

  async renewLease(id: string, token: bigint, leaseSeconds: number): Promise<boolean> {
    const row = this.mutable(id);
    if (row.fencingToken !== token) return false;
    row.leaseExpiresAt = new Date(Date.now() + leaseSeconds * 1000);
    return true;
  }

  async holdsLease(id: string, token: bigint): Promise<boolean> {
    const row = this.mutable(id);
    return row.fencingToken === token && this.leaseLive(row);
  }

  async release(id: string, token: bigint): Promise<void> {
    const row = this.mutable(id);
    if (row.fencingToken !== token) return;
    row.leaseOwner = null;
    row.leaseExpiresAt = null;
  }

  /** The leads upload each teardown recorded (see TeardownRepository.leadsCheckpoints). */
  readonly leadsUploads = new Map<string, LeadsUpload>();

  leadsCheckpoints(teardown: Teardown): LeadsCheckpoints {
    const id = teardown.id;
    return {
      load: () => Promise.resolve(structuredClone(this.leadsUploads.get(id) ?? null)),
      begin: (upload) => {
        this.leadsUploads.set(id, { ...upload, parts: [] });
        return Promise.resolve();
      },
      savePart: (part) => {
        this.leadsUploads.get(id)?.parts.push(part);
        return Promise.resolve();
      },
      clear: () => {
        this.leadsUploads.delete(id);
        return Promise.resolve();
      },
    };
  }

  async update(
    teardown: Teardown,
    patch: TeardownPatch,
    events: NewAuditEvent[] = [],
    expectStatus = teardown.status,
  ): Promise<Teardown> {
    const row = this.mutable(teardown.id);
    const attempt: WriteAttempt = {
      op: 'update',
      token: teardown.fencingToken,
      accepted: false,
      events: events.map((e) => e.type),
    };
    this.writes.push(attempt);
    if (row.fencingToken !== teardown.fencingToken) throw new LeaseLostError(teardown.id);
    if (row.status !== expectStatus) throw new TeardownStoppedError(structuredClone(row));
    applyPatch(row, patch);
    this.events.push(...structuredClone(events));
    this.timeline.push(...events.map((e) => `audit ${e.type}`));
    attempt.accepted = true;
    const committed = structuredClone(row);
    for (const event of events) this.onCommit.get(event.type)?.();
    return committed;
  }

  async passDestructiveGate(
    teardown: Teardown,
    kind: 'cancel' | 'delete',
  ): Promise<{ teardown: Teardown; deletePendingBefore: boolean }> {
    const row = this.mutable(teardown.id);
    const attempt: WriteAttempt = {
      op: `gate:${kind}`,
      token: teardown.fencingToken,
      accepted: false,
      events: [],
    };
    this.writes.push(attempt);
    if (row.fencingToken !== teardown.fencingToken || !this.leaseLive(row)) {
      throw new LeaseLostError(teardown.id);
    }
    if (row.status !== (kind === 'cancel' ? 'cancelling' : 'deleting')) {
      throw new TeardownStoppedError(structuredClone(row));
    }
    const required: AuditEventType[] =
      kind === 'cancel' ? ['archive.exported'] : ['archive.exported', 'archive.finalized'];
    for (const type of required) {
      if (!this.events.some((e) => e.teardownId === teardown.id && e.type === type)) {
        throw new DomainError(
          'INTERNAL_ERROR',
          `refusing to ${kind} workflow ${teardown.workflowId} upstream: ${type} is not committed`,
        );
      }
    }
    if (this.holds.has(teardown.workflowId)) {
      throw new DomainError('WORKFLOW_ON_HOLD', `workflow ${teardown.workflowId} is under legal hold`, {
        retryable: true,
      });
    }
    const deletePendingBefore = row.deletePending;
    const now = new Date();
    if (kind === 'cancel') {
      row.cancelSentAt ??= now;
    } else {
      row.deletePending = true;
      row.deleteAttempts += 1;
    }
    row.updatedAt = now;
    attempt.accepted = true;
    return { teardown: structuredClone(row), deletePendingBefore };
  }

  /** Typed as the real repository, for the runner and the gate. */
  asRepository(): TeardownRepository {
    return this as unknown as TeardownRepository;
  }

  private mutable(id: string): Teardown {
    const row = this.rows.get(id);
    if (!row) throw new Error(`no teardown ${id}`);
    return row;
  }

  private leaseLive(row: Teardown): boolean {
    return row.leaseExpiresAt !== null && row.leaseExpiresAt.getTime() > Date.now();
  }
}

function applyPatch(row: Teardown, patch: TeardownPatch): void {
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  Object.assign(row, structuredClone(defined));
  // as the real repository: only a finished step counts as progress
  if (patch.step !== undefined) row.claimsSinceProgress = 0;
  row.updatedAt = new Date();
}
