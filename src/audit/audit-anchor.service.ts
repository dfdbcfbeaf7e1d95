import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  Optional,
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
import { type AuditMetrics, METRICS, NO_METRICS, type ScrapeSources } from '../ops/metrics.port.js';
import { type AuditAnchor, type AuditAnchorDocument, anchorKey, parseAnchorKey } from './audit-anchor.js';
import { GENESIS_HASH } from './audit-hash.js';
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
  /** Events after the latest anchor, which no anchor covers yet. */
  unanchoredEvents: number;
  /** Age in seconds of the oldest event no anchor covers (0 when the head is anchored). */
  lagSeconds: number;
  /** The last anchoring of this process that failed, if it has not succeeded since. */
  lastFailure: { at: string; reason: string } | null;
}

/** Events left unanchored longer than this make the chain unverifiable: verify answers ok: false. */
export const MAX_ANCHOR_LAG_S = 300;

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
  private lastFailure: { at: string; reason: string } | null = null;
  /** Anchoring runs one at a time in this process, so two triggers never write the same head. */
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly metrics: AuditMetrics & ScrapeSources;

  constructor(
    private readonly audit: AuditRepository,
    private readonly store: ArchiveStoreClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(METRICS) metrics: (AuditMetrics & ScrapeSources) | null = null,
  ) {
    this.prefix = config.auditAnchors.prefix;
    this.metrics = metrics ?? NO_METRICS;
  }

  onApplicationBootstrap(): void {
    this.metrics.addScrapeSource('audit', async () => ({
      auditHeadSeq: await this.audit.headSeq(),
      anchorLagSeconds: await this.anchorLagSeconds(),
    }));
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

  /**
   * The first anchor (lowest seq) that covers the event at `seq`, anchoring the head now when no
   * anchor does yet. The first such anchor, not the newest: it never changes once written (anchors
   * are locked), so whoever asks again, later or on another replica, is named the same one.
   * Null only when anchoring failed (logged; the caller may retry).
   */
  async anchorCovering(seq: number, reason: string): Promise<AuditAnchor | null> {
    const first = (anchors: AuditAnchor[]) => anchors.find((a) => a.seq >= seq) ?? null;
    const existing = first(await this.listAnchors());
    if (existing) return existing;
    const outcome = await this.anchorNow(reason);
    if (outcome.status === 'failed' || outcome.status === 'empty') return null;
    return first(await this.listAnchors());
  }

  /**
   * Walks the chain, then checks that the event at every anchor's seq has the anchored hash. A
   * removed or truncated event is found up to the newest anchor (the anchor names an event that is
   * gone), and since every event is anchored within AUDIT_ANCHOR_INTERVAL_S, events left unanchored
   * for longer than MAX_ANCHOR_LAG_S are themselves a failure: a tail that could have been cut.
   */
  async verify(): Promise<VerificationReport> {
    const report = await this.walk();
    this.metrics.chainVerified(report.ok);
    return report;
  }

  /**
   * Age of the oldest event after the newest anchor this process knows of (its own, or one it
   * found written by another replica at its last anchoring, at most AUDIT_ANCHOR_INTERVAL_S ago):
   * no listing of the bucket, so /metrics stays cheap.
   */
  async anchorLagSeconds(): Promise<number> {
    const oldest = await this.audit.firstAfter(this.lastAnchored?.seq ?? 0);
    return oldest ? Math.max(0, (Date.now() - oldest.at.getTime()) / 1000) : 0;
  }

  private async walk(): Promise<VerificationReport> {
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
    const latest = anchors[anchors.length - 1] ?? null;
    const oldestUnanchored = await this.audit.firstAfter(latest?.seq ?? 0);
    const lagSeconds = oldestUnanchored
      ? Math.max(0, Math.round((Date.now() - oldestUnanchored.at.getTime()) / 1000))
      : 0;
    const summary: AnchorSummary = {
      checked,
      latest,
      unanchoredEvents: oldestUnanchored ? ((await this.audit.head())?.seq ?? 0) - (latest?.seq ?? 0) : 0,
      lagSeconds,
      lastFailure: this.lastFailure,
    };
    if (!chain.ok && (!disagreement || chain.firstBad.seq <= disagreement.seq)) {
      return { ...chain, anchors: summary };
    }
    if (disagreement) return { ok: false, events: chain.events, firstBad: disagreement, anchors: summary };
    if (oldestUnanchored && lagSeconds > MAX_ANCHOR_LAG_S) {
      return {
        ok: false,
        events: chain.events,
        firstBad: {
          seq: oldestUnanchored.seq,
          id: null,
          reason: `unanchored for ${lagSeconds} s (more than ${MAX_ANCHOR_LAG_S} s): anchoring is failing, and events after the newest anchor could be removed unnoticed`,
        },
        anchors: summary,
      };
    }
    return { ...chain, anchors: summary };
  }

  private async anchor(reason: string): Promise<AnchorOutcome> {
    try {
      const head = await this.audit.head();
      if (!head) return { status: 'empty' };
      const anchor: AuditAnchor = { key: anchorKey(this.prefix, head.seq, head.hash), ...head };
      if (this.lastAnchored?.key === anchor.key) return { status: 'unchanged', anchor: this.lastAnchored };
      // Lock in only a chain that holds together since the previous anchor: anchoring a rewritten
      // stretch would make the rewrite look legitimate to every later verification.
      const previous = this.lastAnchored ?? (await this.latestAnchor());
      const stretch = await this.audit.verifyFrom(previous ?? { seq: 0, hash: GENESIS_HASH });
      this.metrics.chainVerified(stretch.ok);
      if (!stretch.ok) {
        const where = previous ? ` since anchor ${previous.key}` : '';
        return this.failed(
          reason,
          `the chain does not verify${where}: event ${stretch.firstBad.seq} ${stretch.firstBad.reason}`,
        );
      }
      const retention = this.retention();
      const existing = await this.store.head(anchor.key);
      if (existing) {
        // written by another replica, or before a restart: make sure it is locked all the same
        if (retention)
          await this.ensureRetention({ key: anchor.key, versionId: existing.versionId }, retention);
        return this.anchored({ key: anchor.key, seq: anchor.seq, hash: anchor.hash }, 'unchanged');
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
        return this.anchored({ key: anchor.key, seq: anchor.seq, hash: anchor.hash }, 'unchanged');
      }
      if (retention) await this.ensureRetention(stored, retention);
      this.logger.log(`anchored the audit chain at seq ${head.seq} in ${anchor.key} (${reason})`);
      return this.anchored({ key: anchor.key, seq: anchor.seq, hash: anchor.hash }, 'written');
    } catch (error) {
      return this.failed(reason, error instanceof Error ? error.message : String(error));
    }
  }

  private anchored(anchor: AuditAnchor, status: 'written' | 'unchanged'): AnchorOutcome {
    this.lastAnchored = anchor;
    this.lastFailure = null;
    return { status, anchor };
  }

  /** Logged as an error and reported by `verify` until an anchoring succeeds again. */
  private failed(reason: string, why: string): AnchorOutcome {
    this.logger.error(`could not anchor the audit chain (${reason}): ${why}`);
    this.lastFailure = { at: new Date().toISOString(), reason: why };
    return { status: 'failed', reason: why };
  }

  /** The anchor with the highest seq in the bucket, once per process (then kept in memory). */
  private async latestAnchor(): Promise<AuditAnchor | null> {
    const anchors = await this.listAnchors();
    return anchors[anchors.length - 1] ?? null;
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
