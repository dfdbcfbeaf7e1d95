import { Injectable, Logger } from '@nestjs/common';
import type { ArchiveDescription } from '../archive/archive.service.js';
import type { AuditEvent } from '../audit/audit-event.js';
import { type Caller, hasRole } from '../auth/caller.js';
import { checkReceiptOffline } from '../cli/receipt-check.js';
import { DomainError, isDomainError } from '../common/domain-error.js';
import { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import { ApprovalService } from '../approvals/approval.service.js';
import { ReceiptService } from '../receipts/receipt.service.js';
import { presentTeardown, type TeardownResource } from '../teardown/teardown.presenter.js';
import type { Teardown, TeardownStatus } from '../teardown/teardown.js';
import { TeardownService } from '../teardown/teardown.service.js';

/** A receipt as the console shows it: what it names, and whether it checks out. */
export interface ReceiptView {
  available: boolean;
  /** Why there is none to show (disabled, not a completed deletion, an error code). */
  unavailableReason: string | null;
  kid: string | null;
  deletedAt: string | null;
  /** Each check with its outcome: the signature, the manifest digest, the events' hashes. */
  checks: { what: string; ok: boolean; detail: string }[];
  ok: boolean;
}

/** The workflow upstream, read live for an approver deciding before anything is archived. */
export interface LiveWorkflow {
  name: string | null;
  status: string | null;
  counts: { nodes: number; edges: number; leads: number } | null;
  error: string | null;
}

/**
 * Gathers what the console's teardown pages show, through the same services as the REST API (so
 * the same visibility rules: a requester sees its own teardowns only, the archive manifest is for
 * auditors, a receipt for auditors and its requester).
 */
@Injectable()
export class TeardownPageService {
  private readonly logger = new Logger(TeardownPageService.name);

  constructor(
    private readonly teardowns: TeardownService,
    private readonly approvals: ApprovalService,
    private readonly receipts: ReceiptService,
    private readonly dialnexa: DialnexaClient,
  ) {}

  async list(
    caller: Caller,
    filter: { status?: TeardownStatus; workflowId?: string; requestedBy?: string; cursor?: string },
  ): Promise<{ data: TeardownResource[]; nextCursor: string | null }> {
    const { data, nextCursor } = await this.teardowns.list(caller, { ...filter, limit: 50 });
    const approvals = await this.approvals.of(data.map((t) => t.id));
    return { data: data.map((t) => presentTeardown(t, approvals.get(t.id))), nextCursor };
  }

  async resource(caller: Caller, id: string): Promise<{ domain: Teardown; resource: TeardownResource }> {
    const domain = await this.teardowns.get(caller, id);
    const approvals = await this.approvals.of([id]);
    return { domain, resource: presentTeardown(domain, approvals.get(id)) };
  }

  async auditTrail(caller: Caller, id: string): Promise<AuditEvent[]> {
    return this.teardowns.auditTrail(caller, id);
  }

  /** The manifests with their objects, for auditors; null (with why) for others or before the export. */
  async archive(
    caller: Caller,
    teardown: TeardownResource,
  ): Promise<{
    archive: (ArchiveDescription & { final: ArchiveDescription | null }) | null;
    note: string | null;
  }> {
    if (!teardown.archive) return { archive: null, note: 'Nothing is archived yet.' };
    if (!hasRole(caller, 'auditor')) {
      return { archive: null, note: 'The manifest’s objects are shown to auditors and admins.' };
    }
    try {
      return { archive: await this.teardowns.archiveOf(caller, teardown.id), note: null };
    } catch (error) {
      if (!isDomainError(error)) throw error;
      return { archive: null, note: `The archive could not be read: ${error.code}.` };
    }
  }

  async receipt(caller: Caller, domain: Teardown, trail: readonly AuditEvent[]): Promise<ReceiptView | null> {
    if (domain.status !== 'completed' || domain.dryRun) return null;
    if (!hasRole(caller, 'auditor') && domain.requestedBy !== caller.name) return null;
    if (!this.receipts.enabled) return unavailable('Receipts are disabled (no RECEIPT_SIGNING_KEY).');
    let bytes: Buffer;
    try {
      bytes = await this.receipts.receiptOf(domain);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      return unavailable(`The receipt could not be read: ${error.code}.`);
    }
    const { report, receipt } = checkReceiptOffline(bytes, this.receipts.jwks(), 'receipt.json');
    const checks = [
      {
        what: 'Ed25519 signature by a key of /.well-known/jwks.json',
        ok: report.signature.ok,
        detail: report.signature.reason ?? `key ${report.kid ?? '?'}`,
      },
    ];
    if (receipt) {
      checks.push({
        what: 'Export manifest SHA-256 matches the teardown',
        ok: receipt.archive.manifestSha256 === domain.archive?.manifestSha256,
        detail: receipt.archive.manifestSha256,
      });
      const bySeq = new Map(trail.map((e) => [e.seq, e.hash]));
      const mismatched = receipt.events.filter((e) => bySeq.get(e.seq) !== e.hash);
      checks.push({
        what: `Its ${receipt.events.length} audit events match the chain`,
        ok: mismatched.length === 0,
        detail:
          mismatched.length === 0
            ? 'same hashes'
            : `differ at seq ${mismatched.map((e) => e.seq).join(', ')}`,
      });
    }
    return {
      available: true,
      unavailableReason: null,
      kid: report.kid,
      // read from a receipt that verified only: other bytes may not even be JSON
      deletedAt: receipt ? deletedAtOf(bytes) : null,
      checks,
      ok: checks.every((c) => c.ok),
    };
  }

  /** Only for a teardown awaiting approval: after that, the archive is the evidence. */
  async liveWorkflow(teardown: TeardownResource): Promise<LiveWorkflow | null> {
    if (teardown.status !== 'awaiting_approval') return null;
    try {
      const [workflow, nodes, edges, leads] = await Promise.all([
        this.dialnexa.getWorkflow(teardown.workflowId),
        this.dialnexa.count(teardown.workflowId, 'nodes'),
        this.dialnexa.count(teardown.workflowId, 'edges'),
        this.dialnexa.count(teardown.workflowId, 'leads'),
      ]);
      const text = (v: unknown) => (typeof v === 'string' ? v : null);
      return {
        name: text(workflow['name']),
        status: text(workflow['status']),
        counts: { nodes, edges, leads },
        error: null,
      };
    } catch (error) {
      const code = error instanceof DomainError ? error.code : 'INTERNAL_ERROR';
      if (!(error instanceof DomainError))
        this.logger.warn(`reading workflow ${teardown.workflowId} failed: ${String(error)}`);
      return { name: null, status: null, counts: null, error: code };
    }
  }
}

function deletedAtOf(bytes: Buffer): string | null {
  const parsed = JSON.parse(bytes.toString('utf8')) as { receipt?: { deletedAt?: unknown } };
  return typeof parsed.receipt?.deletedAt === 'string' ? parsed.receipt.deletedAt : null;
}

function unavailable(reason: string): ReceiptView {
  return { available: false, unavailableReason: reason, kid: null, deletedAt: null, checks: [], ok: false };
}
