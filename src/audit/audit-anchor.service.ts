import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  ArchiveStoreClient,
  ObjectExistsError,
  type Retention,
  type StoredObject,
} from '../archive/archive-store.client.js';
import { DomainError } from '../common/domain-error.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { type AuditAnchor, type AuditAnchorDocument, anchorKey, parseAnchorKey } from './audit-anchor.js';
import { AuditRepository } from './audit.repository.js';

export type AnchorOutcome =
  /** A new anchor was written. */
  | { status: 'written'; anchor: AuditAnchor }
  /** The head was already anchored (by this process or another replica): nothing written. */
  | { status: 'unchanged'; anchor: AuditAnchor }
  /** The chain has no events yet. */
  | { status: 'empty' }
  /** Logged; the next anchor covers what this one would have. */
  | { status: 'failed'; reason: string };

export interface AnchorSummary {
  /** Anchors compared with the chain (up to the first that disagrees). */
  checked: number;
  /** The anchor with the highest seq, or null when there is none yet. */
  latest: AuditAnchor | null;
}

export type VerificationReport =
  | { ok: true; events: number; head: string; anchors: AnchorSummary }
  | {
      ok: false;
      events: number;
      firstBad: { seq: number; id: string | null; reason: string };
      anchors: AnchorSummary;
    };

/**
 * Anchors the audit chain's head in the archive bucket, every AUDIT_ANCHOR_INTERVAL_S and on
 * demand (the runner calls `anchorNow` at each teardown's end), and verifies the chain against
 * the anchors. Anchoring never fails a caller: a failure is logged and the next anchor covers it.
 */
@Injectable()
export class AuditAnchorService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditAnchorService.name);
  private readonly prefix: string;
  private lastAnchored: AuditAnchor | null = null;
  /** Anchoring runs one at a time in this process, so two triggers never write the same head. */
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: AuditRepository,
    private readonly store: ArchiveStoreClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.prefix = config.auditAnchors.prefix;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(
      () => void this.anchorNow('interval'),
      this.config.auditAnchors.intervalS * 1000,
    );
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * Writes the chain's current head `{seq, hash, at, events}` to the bucket under Object Lock,
   * unless that head is anchored already. Never rejects: failures are logged and reported.
   */
  anchorNow(reason: string): Promise<AnchorOutcome> {
    const outcome = this.running.then(() => this.anchor(reason));
    this.running = outcome;
    return outcome;
  }

  /** Walks the chain, then checks that the event at every anchor's seq has the anchored hash. */
  async verify(): Promise<VerificationReport> {
    // Listed before the walk: every anchor then names an event that was committed before it.
    const anchors = await this.listAnchors();
    const chain = await this.audit.verifyChain();
    const found = await this.audit.hashesAt(anchors.map((a) => a.seq));
    let checked = 0;
    let disagreement: { seq: number; id: string | null; reason: string } | null = null;
    let lastAgreeing: AuditAnchor | null = null;
    for (const anchor of anchors) {
      checked += 1;
      const event = found.get(anchor.seq);
      if (event?.hash === anchor.hash) {
        lastAgreeing = anchor;
        continue;
      }
      const since = lastAgreeing ? `; the chain still agrees with ${lastAgreeing.key}` : '';
      disagreement = {
        seq: anchor.seq,
        id: event?.id ?? null,
        reason: event
          ? `differs from anchor ${anchor.key}${since}`
          : `is missing, but anchor ${anchor.key} names it${since}`,
      };
      break;
    }
    const summary: AnchorSummary = { checked, latest: anchors[anchors.length - 1] ?? null };
    if (!chain.ok && (!disagreement || chain.firstBad.seq <= disagreement.seq)) {
      return { ...chain, anchors: summary };
    }
    if (disagreement) return { ok: false, events: chain.events, firstBad: disagreement, anchors: summary };
    return { ...chain, anchors: summary };
  }

  private async anchor(reason: string): Promise<AnchorOutcome> {
    try {
      const head = await this.audit.head();
      if (!head) return { status: 'empty' };
      const anchor: AuditAnchor = { key: anchorKey(this.prefix, head.seq, head.hash), ...head };
      if (this.lastAnchored?.key === anchor.key) return { status: 'unchanged', anchor: this.lastAnchored };
      const retention = this.retention();
      const existing = await this.store.head(anchor.key);
      if (existing) {
        // written by another replica, or before a restart: make sure it is locked all the same
        if (retention)
          await this.ensureRetention({ key: anchor.key, versionId: existing.versionId }, retention);
        this.lastAnchored = { key: anchor.key, seq: anchor.seq, hash: anchor.hash };
        return { status: 'unchanged', anchor: this.lastAnchored };
      }
      const document: AuditAnchorDocument = {
        formatVersion: 1,
        seq: head.seq,
        hash: head.hash,
        at: new Date().toISOString(),
        events: head.events,
        reason,
      };
      const body = Buffer.from(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
      let stored: StoredObject;
      try {
        stored = await this.store.putBytes(anchor.key, body, 'application/json', { retention });
      } catch (error) {
        // another replica wrote the same anchor between the check above and this write
        if (!(error instanceof ObjectExistsError)) throw error;
        this.lastAnchored = { key: anchor.key, seq: anchor.seq, hash: anchor.hash };
        return { status: 'unchanged', anchor: this.lastAnchored };
      }
      if (retention) await this.ensureRetention(stored, retention);
      this.lastAnchored = { key: anchor.key, seq: anchor.seq, hash: anchor.hash };
      this.logger.log(`anchored the audit chain at seq ${head.seq} in ${anchor.key} (${reason})`);
      return { status: 'written', anchor: this.lastAnchored };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error(`could not anchor the audit chain (${reason}): ${message}`);
      return { status: 'failed', reason: message };
    }
  }

  private async listAnchors(): Promise<AuditAnchor[]> {
    const anchors: AuditAnchor[] = [];
    for await (const key of this.store.listKeys(this.prefix)) {
      const anchor = parseAnchorKey(this.prefix, key);
      if (anchor) anchors.push(anchor);
    }
    // keys sort by seq already (zero-padded); sorting again keeps that independent of the store
    return anchors.sort((a, b) => a.seq - b.seq || a.key.localeCompare(b.key));
  }

  private retention(): Retention | undefined {
    const { lockMode, retentionDays } = this.config.archive;
    if (lockMode === 'NONE') return undefined;
    return { mode: lockMode, retainUntil: new Date(Date.now() + retentionDays * 86_400_000) };
  }

  /** Some stores ignore lock headers: the retention is read back and set when it is missing. */
  private async ensureRetention(object: StoredObject, retention: Retention): Promise<void> {
    const actual = await this.store.getRetention(object);
    if (actual?.mode === retention.mode) return;
    await this.store.setRetention(object, retention);
    const confirmed = await this.store.getRetention(object);
    if (confirmed?.mode !== retention.mode) {
      throw new DomainError('ARCHIVE_LOCK_FAILED', `${object.key} has no ${retention.mode} retention`);
    }
  }
}
