import { Inject, Injectable, Logger } from '@nestjs/common';
import { createPublicKey } from 'node:crypto';
import { ArchiveStoreClient } from '../archive/archive-store.client.js';
import { ArchiveService } from '../archive/archive.service.js';
import { AuditAnchorService } from '../audit/audit-anchor.service.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { DomainError } from '../common/domain-error.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { buildReceipt, type DeletionReceipt, receiptEvents, type ReceiptSubject } from './receipt.js';
import { type JwkSet, publicJwkOf, ReceiptKeyring, verifyReceipt } from './receipt-signature.js';

const EVIDENCE_URL_TTL_SECONDS = 900;

/** An object a receipt names, as the bucket holds it, with a short-lived download URL. */
export interface EvidenceObject {
  key: string;
  versionId: string | null;
  exists: boolean;
  /** Presigned GET of that version; null when the object does not exist. */
  url: string | null;
  lock: { mode: string; retainUntil: string } | null;
}

/** What `receipt verify --online` checks a receipt against, besides the audit API. */
export interface ReceiptEvidence {
  expiresAt: string;
  receipt: EvidenceObject;
  manifests: (EvidenceObject & { snapshot: 'export' | 'final' })[];
  anchor: EvidenceObject;
}

/** `receipt.json` beside the export's `manifest.json`. */
export function receiptKeyOf(manifestKey: string): string {
  return manifestKey.replace(/manifest\.json$/, 'receipt.json');
}

/**
 * Issues and serves deletion receipts. `receiptOf` is the one door: it returns the stored receipt
 * of a completed teardown, or builds, signs and stores it (write-once under the archive's Object
 * Lock) when none is stored yet. The runner calls it as soon as a teardown completes; a request
 * that comes first (or after that call failed) issues it itself. The receipt is deterministic, so
 * two issuers racing write the same bytes, and the loser adopts the winner's object.
 */
@Injectable()
export class ReceiptService {
  private readonly logger = new Logger(ReceiptService.name);
  private readonly keyring: ReceiptKeyring | null;
  private readonly keySet: JwkSet;

  constructor(
    private readonly store: ArchiveStoreClient,
    private readonly archive: ArchiveService,
    private readonly audit: AuditRepository,
    private readonly anchors: AuditAnchorService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const { signingKey, previousPublicKeys } = config.receipts;
    this.keyring = signingKey ? new ReceiptKeyring(signingKey, previousPublicKeys) : null;
    // without a signing key the earlier keys are still served: receipts they signed stay checkable
    this.keySet = this.keyring?.jwks ?? {
      keys: previousPublicKeys.map((pem) => publicJwkOf(createPublicKey({ key: pem, format: 'pem' }))),
    };
  }

  get enabled(): boolean {
    return this.keyring !== null;
  }

  /** The public keys receipts are checked against: the current one first, then earlier ones. */
  jwks(): JwkSet {
    return this.keySet;
  }

  /** The receipt's bytes (canonical JSON of the signed envelope), issuing it when needed. */
  async receiptOf(teardown: ReceiptSubject): Promise<Buffer> {
    const keyring = this.keyring;
    if (!keyring) {
      throw new DomainError('RECEIPTS_DISABLED', 'no RECEIPT_SIGNING_KEY is configured: receipts are off');
    }
    const manifestKey = receiptable(teardown);
    const key = receiptKeyOf(manifestKey);
    return (await this.readStored(teardown, key)) ?? this.issue(teardown, keyring, key);
  }

  /**
   * The objects a teardown's receipt names (its manifests, the anchor) and the receipt itself, as
   * the bucket holds them: existence, Object Lock, and a presigned URL to read each independently.
   */
  async evidenceOf(teardown: ReceiptSubject): Promise<ReceiptEvidence> {
    const bytes = await this.receiptOf(teardown);
    const receipt = (JSON.parse(bytes.toString('utf8')) as { receipt: DeletionReceipt }).receipt;
    const manifests: ReceiptEvidence['manifests'] = [
      {
        snapshot: 'export',
        ...(await this.evidence(receipt.archive.manifestKey, receipt.archive.manifestVersionId)),
      },
    ];
    if (receipt.final) {
      const { manifestKey, manifestVersionId } = receipt.final;
      manifests.push({ snapshot: 'final', ...(await this.evidence(manifestKey, manifestVersionId)) });
    }
    return {
      expiresAt: new Date(Date.now() + EVIDENCE_URL_TTL_SECONDS * 1000).toISOString(),
      receipt: await this.evidence(receiptKeyOf(receipt.archive.manifestKey), null),
      manifests,
      anchor: await this.evidence(receipt.chain.anchorKey, null),
    };
  }

  /** The runner's hook at a teardown's end: issues its receipt; never throws (a read issues it later). */
  async issueQuietly(teardown: ReceiptSubject): Promise<void> {
    if (!this.keyring || teardown.status !== 'completed' || teardown.dryRun) return;
    try {
      await this.receiptOf(teardown);
      this.logger.log(`teardown ${teardown.id}: receipt issued`);
    } catch (error) {
      this.logger.warn(
        `teardown ${teardown.id}: issuing its receipt failed (${error instanceof Error ? error.message : String(error)}); the next read of it issues it`,
      );
    }
  }

  private async issue(teardown: ReceiptSubject, keyring: ReceiptKeyring, key: string): Promise<Buffer> {
    const events = receiptEvents(await this.audit.forTeardown(teardown.id));
    const last = events[events.length - 1];
    if (!last) {
      throw new DomainError('INTERNAL_ERROR', `teardown ${teardown.id} is completed without its events`);
    }
    const anchor = await this.anchors.anchorCovering(last.seq, `receipt of ${teardown.id}`);
    if (!anchor) {
      throw new DomainError(
        'ARCHIVE_STORE_UNAVAILABLE',
        'the audit chain could not be anchored yet, so the receipt cannot name its anchor',
        { retryable: true },
      );
    }
    const body = keyring.sign(buildReceipt(teardown, events, anchor));
    // written meanwhile by the runner's hook or another replica: the same bytes, adopted
    const { bytes } = await this.archive.writeOnceLocked(key, body, (stored) =>
      this.refusalOf(teardown, stored),
    );
    return bytes;
  }

  /**
   * The stored receipt, adopted when it is a valid receipt of this teardown signed by one of the
   * keys served (an earlier attempt's, or one signed before a key rotation); its retention is
   * set if that attempt died before setting it. One that is not cannot be replaced (keys are
   * written once): it fails for good, naming the key.
   */
  private async readStored(teardown: ReceiptSubject, key: string): Promise<Buffer | null> {
    const stored = await this.archive.readOnceLocked(key, (bytes) => this.refusalOf(teardown, bytes));
    return stored?.bytes ?? null;
  }

  private refusalOf(teardown: ReceiptSubject, bytes: Buffer): string | null {
    const check = verifyReceipt(bytes, this.keySet);
    if (!check.ok) return `it is not a valid receipt: ${check.reason}`;
    return check.receipt['teardownId'] === teardown.id
      ? null
      : 'it is not a valid receipt: it names another teardown';
  }

  private async evidence(key: string, versionId: string | null): Promise<EvidenceObject> {
    const head = await this.store.head(key, versionId);
    if (!head) return { key, versionId, exists: false, url: null, lock: null };
    const object = { key, versionId: head.versionId };
    const lock = await this.store.getRetention(object);
    return {
      ...object,
      exists: true,
      url: await this.store.presign(object, EVIDENCE_URL_TTL_SECONDS),
      lock: lock ? { mode: lock.mode, retainUntil: lock.retainUntil.toISOString() } : null,
    };
  }
}

/** The export manifest's key of a teardown that has a receipt; RECEIPT_NOT_FOUND for any other. */
function receiptable(teardown: ReceiptSubject): string {
  if (teardown.status === 'completed' && !teardown.dryRun && teardown.archive) {
    return teardown.archive.manifestKey;
  }
  const why = teardown.dryRun ? 'a dry run deletes nothing' : `it is ${teardown.status}`;
  throw new DomainError('RECEIPT_NOT_FOUND', `teardown ${teardown.id} has no receipt: ${why}`, {
    details: { status: teardown.status, dryRun: teardown.dryRun },
  });
}
