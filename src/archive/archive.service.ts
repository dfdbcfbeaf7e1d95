import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, type Hash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { canonicalJson } from '../common/canonical-json.js';
import { DomainError, isDomainError } from '../common/domain-error.js';
import type { JsonObject } from '../common/json.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ArchiveStoreClient, type Retention, type StoredObject } from './archive-store.client.js';
import {
  archiveDir,
  type ArchiveObjectName,
  type ArchiveRef,
  type ArchiveSnapshot,
  countsOf,
  type Manifest,
  MANIFEST_FORMAT_VERSION,
  manifestKey,
  type ManifestObject,
  parseManifest,
  serializeManifest,
} from './manifest.js';

export interface ArchiveTarget {
  teardownId: string;
  workflowId: string;
}

/** What an export writes. Leads are a stream: they are never all in memory at once. */
export interface ExportSource {
  workflow: JsonObject;
  nodes: JsonObject[];
  edges: JsonObject[];
  /** Throws (and so aborts the upload, leaving no manifest) when the listing was incomplete. */
  leads: AsyncIterable<JsonObject>;
  leadsTotalReported: () => number | null;
  leadHistory?: AsyncIterable<JsonObject>;
}

export interface ArchiveDescription {
  bucket: string;
  manifestKey: string;
  manifestSha256: string;
  manifestUrl: string;
  expiresAt: string;
  manifest: Manifest;
  objects: Array<ManifestObject & { url: string }>;
}

const JSON_TYPE = 'application/json';
const DIGEST_MASK = (1n << 256n) - 1n;

/** The objects of a snapshot whose content differs from the same object of `since`. */
function changedObjects(since: ArchiveRef, objects: ManifestObject[], leadsDigest: string): string[] {
  const nameOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);
  const before = new Map(since.objects.map((o) => [nameOf(o.key), o.sha256]));
  return objects
    .filter((o) => {
      const name = nameOf(o.key);
      // gzip output is not a content fingerprint: leads compare by their digest
      if (name === 'leads.ndjson.gz') return since.leadsDigest !== leadsDigest;
      return before.get(name) !== o.sha256;
    })
    .map((o) => nameOf(o.key));
}
const GZIP_TYPE = 'application/gzip';

/**
 * Writes a teardown's archive to S3 and proves it is there. An archive is complete only when its
 * manifest exists and every object matches it; the manifest is written last and only once.
 */
@Injectable()
export class ArchiveService {
  private readonly logger = new Logger(ArchiveService.name);

  constructor(
    private readonly store: ArchiveStoreClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The archive a previous attempt of this teardown completed, if its manifest exists: a process
   * that died after writing the manifest must adopt it, never write a second one.
   */
  async findExisting(
    target: ArchiveTarget,
    snapshot: ArchiveSnapshot = 'export',
  ): Promise<ArchiveRef | null> {
    const key = this.manifestKeyOf(target, snapshot);
    const head = await this.store.head(key);
    if (!head) return null;
    const bytes = await this.store.getBytes(key, head.versionId);
    const manifest = parseManifest(bytes);
    this.logger.log(`adopting the existing manifest of teardown ${target.teardownId}`);
    return this.refOf(manifest, key, head.versionId, sha256(bytes));
  }

  /**
   * Writes one snapshot: `export` (before the cancel) or `final` (after it, under `final/`, its
   * manifest noting which objects differ from `since`, the export).
   */
  async export(
    target: ArchiveTarget,
    source: ExportSource,
    onLeads: (exported: number) => void,
    snapshot: ArchiveSnapshot = 'export',
    since: ArchiveRef | null = null,
  ): Promise<ArchiveRef> {
    const dir = archiveDir(this.config.archive.prefix, target.workflowId, target.teardownId, snapshot);
    const key = this.manifestKeyOf(target, snapshot);
    await this.refuseIfManifestExists(key);
    const retention = this.retention();
    const objects: ManifestObject[] = [];

    objects.push(await this.putJson(`${dir}workflow.json`, source.workflow, 1, retention));
    objects.push(await this.putJson(`${dir}nodes.json`, source.nodes, source.nodes.length, retention));
    objects.push(await this.putJson(`${dir}edges.json`, source.edges, source.edges.length, retention));
    const leads = await this.putNdjson(`${dir}leads.ndjson.gz`, source.leads, retention, onLeads);
    objects.push(leads.object);
    if (source.leadHistory) {
      const history = await this.putNdjson(
        `${dir}lead-history.ndjson.gz`,
        source.leadHistory,
        retention,
        () => {},
      );
      objects.push(history.object);
    }

    const manifest: Manifest = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      teardownId: target.teardownId,
      workflowId: target.workflowId,
      exportedAt: new Date().toISOString(),
      source: { baseUrl: this.config.dialnexa.baseUrl, apiVersion: 'v1' },
      objects,
      leadsTotalReported: source.leadsTotalReported(),
      snapshot,
      leadsDigest: leads.digest,
      changedSinceExport: since ? changedObjects(since, objects, leads.digest) : undefined,
    };
    // Unique keys are what prevent overwrites (S3 stores such as Ceph ignore If-None-Match):
    // check once more that no manifest appeared since the export began.
    await this.refuseIfManifestExists(key);
    const bytes = serializeManifest(manifest);
    const stored = await this.store.putBytes(key, bytes, JSON_TYPE, retention);
    if (retention) await this.confirmRetention(stored, retention);
    return this.refOf(manifest, key, stored.versionId, sha256(bytes));
  }

  /**
   * Reads every object back and checks it against the manifest: size, SHA-256, record count, and
   * the Object Lock retention when a lock mode is set. Throws ARCHIVE_VERIFICATION_FAILED.
   */
  async verify(ref: ArchiveRef): Promise<ArchiveRef> {
    const manifestBytes = await this.store.getBytes(ref.manifestKey, ref.manifestVersionId);
    const problems: string[] = [];
    if (sha256(manifestBytes) !== ref.manifestSha256)
      problems.push('manifest.json: SHA-256 differs from the recorded one');
    let manifest: Manifest;
    try {
      manifest = parseManifest(manifestBytes);
    } catch (error) {
      throw verificationFailed([`manifest.json: ${(error as Error).message}`]);
    }
    // the recorded copy went through jsonb, which reorders keys: compare canonical forms
    if (canonicalJson(manifest.objects) !== canonicalJson(ref.objects)) {
      problems.push('manifest.json: its object list differs from the recorded one');
    }
    for (const expected of manifest.objects) {
      let actual: { bytes: number; sha256: string; records: number };
      try {
        actual = await this.measure(expected);
      } catch (error) {
        // An unreachable store is worth another try; unreadable content is not.
        if (isDomainError(error) && error.retryable) throw error;
        problems.push(`${expected.key}: unreadable (${(error as Error).message})`);
        continue;
      }
      if (actual.bytes !== expected.bytes)
        problems.push(`${expected.key}: ${actual.bytes} bytes, manifest says ${expected.bytes}`);
      if (actual.sha256 !== expected.sha256)
        problems.push(`${expected.key}: SHA-256 differs from the manifest`);
      if (actual.records !== expected.records) {
        problems.push(`${expected.key}: ${actual.records} records, manifest says ${expected.records}`);
      }
    }
    const retention = this.retention();
    if (retention) {
      const lockable: StoredObject[] = [
        ...manifest.objects,
        { key: ref.manifestKey, versionId: ref.manifestVersionId },
      ];
      for (const object of lockable) {
        const actual = await this.store.getRetention(object);
        if (!actual || actual.mode !== retention.mode) {
          problems.push(`${object.key}: no ${retention.mode} retention`);
        }
      }
    }
    if (problems.length > 0) throw verificationFailed(problems);
    return { ...ref, verifiedAt: new Date().toISOString() };
  }

  /**
   * Marks a teardown's archive as not followed by a deletion (the teardown was aborted), so that
   * whoever finds the archive in the bucket alone knows the workflow was left in place.
   */
  async markNotDeleted(target: ArchiveTarget, details: Record<string, unknown>): Promise<string> {
    const key = `${archiveDir(this.config.archive.prefix, target.workflowId, target.teardownId)}outcome.json`;
    const body = Buffer.from(
      `${JSON.stringify({ teardownId: target.teardownId, workflowId: target.workflowId, followedByDeletion: false, ...details }, null, 2)}\n`,
      'utf8',
    );
    await this.store.putBytes(key, body, JSON_TYPE, this.retention());
    return key;
  }

  async readManifest(ref: ArchiveRef): Promise<Manifest> {
    return parseManifest(await this.store.getBytes(ref.manifestKey, ref.manifestVersionId));
  }

  /** The manifest as stored, with a short-lived download URL for it and for each object. */
  async describe(ref: ArchiveRef, expiresInSeconds: number): Promise<ArchiveDescription> {
    const manifest = parseManifest(await this.store.getBytes(ref.manifestKey, ref.manifestVersionId));
    const expiresAt = new Date(Date.now() + expiresInSeconds * 1000).toISOString();
    const objects = await Promise.all(
      manifest.objects.map(async (object) => ({
        ...object,
        url: await this.store.presign(object, expiresInSeconds),
      })),
    );
    return {
      bucket: ref.bucket,
      manifestKey: ref.manifestKey,
      manifestSha256: ref.manifestSha256,
      manifestUrl: await this.store.presign(
        { key: ref.manifestKey, versionId: ref.manifestVersionId },
        expiresInSeconds,
      ),
      expiresAt,
      manifest,
      objects,
    };
  }

  /** A manifest is written once: an export never starts, nor ends, over an existing one. */
  private async refuseIfManifestExists(key: string): Promise<void> {
    if (await this.store.head(key)) {
      throw new DomainError(
        'ARCHIVE_WRITE_FAILED',
        `a manifest already exists at ${key}; refusing to overwrite it`,
        {
          retryable: true, // a retry adopts the manifest it finds
        },
      );
    }
  }

  private manifestKeyOf(target: ArchiveTarget, snapshot: ArchiveSnapshot = 'export'): string {
    return manifestKey(this.config.archive.prefix, target.workflowId, target.teardownId, snapshot);
  }

  private refOf(
    manifest: Manifest,
    key: string,
    versionId: string | null,
    manifestSha256: string,
  ): ArchiveRef {
    return {
      bucket: this.store.bucket,
      manifestKey: key,
      manifestSha256,
      manifestVersionId: versionId,
      counts: countsOf(manifest),
      objects: manifest.objects,
      verifiedAt: null,
      leadsDigest: manifest.leadsDigest ?? null,
    };
  }

  private retention(): Retention | undefined {
    const { lockMode, retentionDays } = this.config.archive;
    if (lockMode === 'NONE') return undefined;
    return { mode: lockMode, retainUntil: new Date(Date.now() + retentionDays * 86_400_000) };
  }

  private async putJson(
    key: string,
    value: unknown,
    records: number,
    retention?: Retention,
  ): Promise<ManifestObject> {
    const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    const stored = await this.store.putBytes(key, body, JSON_TYPE, retention);
    if (retention) await this.confirmRetention(stored, retention);
    return {
      key,
      bytes: body.length,
      sha256: sha256(body),
      records,
      contentType: JSON_TYPE,
      versionId: stored.versionId,
    };
  }

  private async putNdjson(
    key: string,
    records: AsyncIterable<JsonObject>,
    retention: Retention | undefined,
    onRecords: (count: number) => void,
  ): Promise<{ object: ManifestObject; digest: string }> {
    let count = 0;
    let digest = 0n;
    async function* lines() {
      for await (const record of records) {
        count += 1;
        if (count % 500 === 0) onRecords(count);
        const line = `${JSON.stringify(record)}\n`;
        digest = (digest + BigInt(`0x${sha256(Buffer.from(line, 'utf8'))}`)) & DIGEST_MASK;
        yield line;
      }
      onRecords(count);
    }
    const hashed = new DigestStream();
    const body = new PassThrough();
    const produced = pipeline(Readable.from(lines()), createGzip(), hashed, body);
    const uploaded = this.store.putStream(key, body, GZIP_TYPE, this.config.archive.partSizeBytes);
    const [producedResult, uploadedResult] = await Promise.allSettled([produced, uploaded]);
    // The producer's failure (an upstream error, an incomplete listing) is the cause; the upload's
    // failure is then only its consequence.
    if (producedResult.status === 'rejected') throw asDomainError(producedResult.reason, key);
    if (uploadedResult.status === 'rejected') throw asDomainError(uploadedResult.reason, key);
    const stored = uploadedResult.value;
    if (retention) {
      // Multipart uploads ignore lock headers on some stores: set it on the version, then confirm.
      await this.store.setRetention(stored, retention);
      await this.confirmRetention(stored, retention);
    }
    return {
      object: {
        key,
        bytes: hashed.bytes,
        sha256: hashed.hex(),
        records: count,
        contentType: GZIP_TYPE,
        versionId: stored.versionId,
      },
      digest: digest.toString(16).padStart(64, '0'),
    };
  }

  private async confirmRetention(object: StoredObject, retention: Retention): Promise<void> {
    const actual = await this.store.getRetention(object);
    if (
      !actual ||
      actual.mode !== retention.mode ||
      actual.retainUntil.getTime() < retention.retainUntil.getTime() - 1000
    ) {
      throw new DomainError(
        'ARCHIVE_LOCK_FAILED',
        `${object.key} did not keep its ${retention.mode} retention`,
        {
          details: { key: object.key },
        },
      );
    }
  }

  private async measure(object: ManifestObject): Promise<{ bytes: number; sha256: string; records: number }> {
    const digest = new DigestStream();
    const stream = await this.store.getStream(object.key, object.versionId);
    if (object.contentType === GZIP_TYPE) {
      const gunzip = createGunzip();
      const [, records] = await Promise.all([pipeline(stream, digest, gunzip), countNdjsonRecords(gunzip)]);
      return { bytes: digest.bytes, sha256: digest.hex(), records };
    }
    const chunks: Buffer[] = [];
    const collect = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    await pipeline(stream, digest, collect);
    return { bytes: digest.bytes, sha256: digest.hex(), records: countJsonRecords(Buffer.concat(chunks)) };
  }
}

/** A pass-through stream that hashes and counts what flows through it. */
class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  hex(): string {
    return this.hash.copy().digest('hex');
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function countNdjsonRecords(stream: Readable): Promise<number> {
  let records = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (line.length === 0) continue;
    JSON.parse(line); // a line that is not JSON makes the archive unverifiable: let it throw
    records += 1;
  }
  return records;
}

function countJsonRecords(bytes: Buffer): number {
  const value: unknown = JSON.parse(bytes.toString('utf8'));
  return Array.isArray(value) ? value.length : 1;
}

function verificationFailed(problems: string[]): DomainError {
  return new DomainError(
    'ARCHIVE_VERIFICATION_FAILED',
    `the archive does not match its manifest: ${problems[0]}`,
    {
      details: { problems },
      retryable: false,
    },
  );
}

function asDomainError(error: unknown, key: string): DomainError {
  if (isDomainError(error)) return error;
  return new DomainError(
    'ARCHIVE_WRITE_FAILED',
    `writing ${key} failed: ${(error as Error)?.message ?? String(error)}`,
    {
      retryable: true,
      cause: error,
    },
  );
}

export type { ArchiveObjectName };
