import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, type Hash } from 'node:crypto';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { canonicalJson } from '../common/canonical-json.js';
import { DomainError, isDomainError } from '../common/domain-error.js';
import type { JsonObject } from '../common/json.js';
import { truncate } from '../common/text.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import {
  ArchiveStoreClient,
  ObjectExistsError,
  type Retention,
  type StoredObject,
} from './archive-store.client.js';
import { jsonText } from '../common/json-text.js';
import { LeadsDigest } from './leads-digest.js';
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
import type { LeadsCheckpoints } from './leads-checkpoint.js';
import { type NdjsonReading, ndjsonRecords, readNdjson, writeNdjson } from './ndjson.js';
import { type OpenLeads, ResumableLeadsWriter, type WrittenLeads } from './resumable-leads-writer.js';

export interface ArchiveTarget {
  teardownId: string;
  workflowId: string;
}

/** What an export writes. Leads are a stream: they are never all in memory at once. */
export interface ExportSource {
  workflow: JsonObject;
  nodes: JsonObject[];
  edges: JsonObject[];
  /**
   * Throws (and so aborts the upload, leaving no manifest) when the listing was incomplete. Not
   * read when `resumable` is given.
   */
  leads?: AsyncIterable<JsonObject>;
  leadsTotalReported: () => number | null;
  leadHistory?: AsyncIterable<JsonObject>;
  /**
   * Makes the leads object resumable in the middle (see ResumableLeadsWriter): the leads are then
   * read from `open`, page by page, and `leads` is not read.
   */
  resumable?: { open: OpenLeads; checkpoints: LeadsCheckpoints };
}

/**
 * Who may still write: checked right before every write that makes a key visible, and its signal
 * aborts the requests in flight. A worker that lost its teardown's lease writes nothing more.
 */
export interface WriteFence {
  /** Throws (LEASE_LOST) unless the writer still holds the lease. */
  check(): Promise<void>;
  signal?: AbortSignal;
}

/** For writes that belong to no lease (tests, tools). */
export const UNFENCED: WriteFence = { check: () => Promise.resolve() };

/** Metadata names stored on each archive object (as `x-amz-meta-*`). */
const META_SHA256 = 'sha256';
const META_RECORDS = 'records';

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

/**
 * gzip level of the NDJSON objects. Measured on this project's 2-core dev machine, streaming the
 * NDJSON of 100,000 realistic leads (45.1 MB, the simulator's leads without their rare 16 KB-1 MB
 * transcripts) through zlib in 64 KiB writes, three runs each:
 *
 * | level | time        | size    |
 * |-------|-------------|---------|
 * | 1     | 263-355 ms  | 6.36 MB |
 * | 3     | 266-308 ms  | 6.00 MB |
 * | 6     | 487-547 ms  | 5.33 MB |  (zlib's default, used before)
 *
 * Level 3 costs what level 1 does for 6% less to upload and store; level 6 takes 1.8 times as
 * long for 11% less. gzip runs on libuv's pool beside the main thread's parsing and serialising,
 * and on two cores that time is what the export waits for.
 *
 * Measured again on 2026-12-02 with the simulator's hostile leads (the bench's data: 100,000
 * leads, 103 MB of NDJSON, gzipped in 8 MiB parts, CPU seconds of three runs): level 1 0.26 s
 * for 9.9 MB, level 3 0.27 s for 9.4 MB, level 6 0.49 s for 6.7 MB. Level 6 would store 29% less
 * for 0.22 CPU-seconds more per 100,000 leads; on this 2-core machine the export is CPU-bound,
 * so level 3 stays. (`npm run bench` prints gzip alone at levels 1, 3 and 6 for each size.)
 */
const GZIP_LEVEL = 3;

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
  private readonly resumableWriter: ResumableLeadsWriter;

  constructor(
    private readonly store: ArchiveStoreClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.resumableWriter = new ResumableLeadsWriter(
      store,
      store.partBuffers,
      config.archive.partSizeBytes,
      GZIP_LEVEL,
    );
  }

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
   *
   * Each key is written once. An export that resumes after a crash, an S3 outage or a lost lease
   * adopts every object an earlier attempt completed, once it matches the SHA-256 and record
   * count stored on it, and writes only what is missing; the manifest is written last.
   */
  async export(
    target: ArchiveTarget,
    source: ExportSource,
    onLeads: (exported: number) => void,
    snapshot: ArchiveSnapshot = 'export',
    since: ArchiveRef | null = null,
    fence: WriteFence = UNFENCED,
  ): Promise<ArchiveRef> {
    const dir = archiveDir(this.config.archive.prefix, target.workflowId, target.teardownId, snapshot);
    const key = this.manifestKeyOf(target, snapshot);
    await this.refuseIfManifestExists(key);
    const objects: ManifestObject[] = [];

    objects.push(await this.writeJson(`${dir}workflow.json`, source.workflow, 1, fence));
    objects.push(await this.writeJson(`${dir}nodes.json`, source.nodes, source.nodes.length, fence));
    objects.push(await this.writeJson(`${dir}edges.json`, source.edges, source.edges.length, fence));
    const leads = source.resumable
      ? await this.writeResumableLeads(`${dir}leads.ndjson.gz`, source.resumable, onLeads, fence)
      : await this.writeNdjson(`${dir}leads.ndjson.gz`, source.leads ?? noLeads(), onLeads, fence);
    objects.push(leads.object);
    if (source.leadHistory) {
      const history = await this.writeNdjson(
        `${dir}lead-history.ndjson.gz`,
        source.leadHistory,
        () => {},
        fence,
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
      // an adopted leads object was counted by an earlier attempt: its total is that listing's
      leadsTotalReported: leads.adopted ? null : source.leadsTotalReported(),
      snapshot,
      leadsDigest: leads.digest,
      changedSinceExport: since ? changedObjects(since, objects, leads.digest) : undefined,
    };
    // Checked once more because stores such as Ceph 16 ignore If-None-Match: no manifest may have
    // appeared since the export began.
    await this.refuseIfManifestExists(key);
    const bytes = serializeManifest(manifest);
    const retention = this.retention();
    let stored: StoredObject;
    try {
      stored = await this.store.putBytes(key, bytes, JSON_TYPE, {
        retention,
        metadata: { [META_SHA256]: sha256(bytes) },
        fence: () => fence.check(),
        signal: fence.signal,
      });
    } catch (error) {
      if (error instanceof ObjectExistsError) throw manifestExists(key);
      throw error;
    }
    if (retention) await this.confirmRetention(stored, retention);
    return this.refOf(manifest, key, stored.versionId, sha256(bytes));
  }

  /**
   * Reads every object back and checks it against the manifest: size, SHA-256, record count, and
   * the Object Lock retention when a lock mode is set. Throws ARCHIVE_VERIFICATION_FAILED.
   */
  async verify(ref: ArchiveRef): Promise<ArchiveRef> {
    const manifestBytes = await this.store
      .getBytes(ref.manifestKey, ref.manifestVersionId)
      .catch((error: unknown) => {
        // an unreachable store is worth another try; a manifest that is not there is a damaged archive
        if (isDomainError(error) && error.retryable) throw error;
        throw verificationFailed([`manifest.json: unreadable (${(error as Error).message})`]);
      });
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
    // the objects are read back at once (there are at most five); problems keep manifest order
    const measured = await Promise.allSettled(
      // the manifest's SHA-256 vouches for the bytes: records are counted, not parsed (a mismatch
      // of the SHA-256 fails the verification by itself)
      manifest.objects.map((expected) => this.measure(expected, 'count')),
    );
    for (const [index, expected] of manifest.objects.entries()) {
      const outcome = measured[index]!;
      if (outcome.status === 'rejected') {
        const error: unknown = outcome.reason;
        // An unreachable store is worth another try; unreadable content is not.
        if (isDomainError(error) && error.retryable) throw error;
        problems.push(`${expected.key}: unreadable (${(error as Error).message})`);
        continue;
      }
      const actual = outcome.value;
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
      // read at once, not one after another (six round trips to the store)
      const retentions = await Promise.all(lockable.map((object) => this.store.getRetention(object)));
      for (const [index, object] of lockable.entries()) {
        const actual = retentions[index];
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
    // written once: an abort recorded before (by a request that was retried) stands
    if (await this.store.head(key)) return key;
    const body = Buffer.from(
      `${jsonText({ teardownId: target.teardownId, workflowId: target.workflowId, followedByDeletion: false, ...details }, 2)}\n`,
      'utf8',
    );
    try {
      await this.store.putBytes(key, body, JSON_TYPE, {
        retention: this.retention(),
        metadata: { [META_SHA256]: sha256(body), [META_RECORDS]: '1' },
      });
    } catch (error) {
      if (!(error instanceof ObjectExistsError)) throw error;
    }
    return key;
  }

  /**
   * Writes a small JSON object once, under the archive's Object Lock: the receipts' and restores'
   * door to the bucket. When the key exists (an earlier attempt, another replica), the stored bytes
   * are adopted if `adoptable` accepts them, and their retention set if that attempt died before
   * setting it; otherwise the key cannot be replaced and this fails for good, naming it.
   */
  async writeOnceLocked(
    key: string,
    body: Buffer,
    adoptable: (stored: Buffer) => string | null,
  ): Promise<{ bytes: Buffer; versionId: string | null }> {
    const existing = await this.readOnceLocked(key, adoptable);
    if (existing) return existing;
    const retention = this.retention();
    let stored: StoredObject;
    try {
      stored = await this.store.putBytes(key, body, JSON_TYPE, {
        retention,
        metadata: { [META_SHA256]: sha256(body) },
      });
    } catch (error) {
      if (!(error instanceof ObjectExistsError)) throw error;
      const adopted = await this.readOnceLocked(key, adoptable);
      if (!adopted) throw error; // refused, yet gone: the caller retries
      return adopted;
    }
    if (retention) await this.ensureRetention(stored, retention);
    return { bytes: body, versionId: stored.versionId };
  }

  /** The object `writeOnceLocked` wrote at `key`, if any, checked and locked the same way. */
  async readOnceLocked(
    key: string,
    adoptable: (stored: Buffer) => string | null,
  ): Promise<{ bytes: Buffer; versionId: string | null } | null> {
    const head = await this.store.head(key);
    if (!head) return null;
    const bytes = await this.store.getBytes(key, head.versionId);
    const refusal = adoptable(bytes);
    if (refusal !== null) {
      throw new DomainError(
        'ARCHIVE_VERIFICATION_FAILED',
        `${key} exists and cannot be adopted: ${refusal}`,
        {
          details: { key },
        },
      );
    }
    const retention = this.retention();
    if (retention) await this.ensureRetention({ key, versionId: head.versionId }, retention);
    return { bytes, versionId: head.versionId };
  }

  async readManifest(ref: ArchiveRef): Promise<Manifest> {
    return parseManifest(await this.store.getBytes(ref.manifestKey, ref.manifestVersionId));
  }

  /**
   * The records of one archived object (a manifest entry), read from the version the manifest
   * names: a JSON document's array items (or the document itself), or each line of gzipped NDJSON,
   * streamed. Read after `verify` for anything that must be exact: this checks nothing itself.
   */
  async *readRecords(
    object: Pick<ManifestObject, 'key' | 'versionId' | 'contentType'>,
  ): AsyncGenerator<JsonObject> {
    const stream = await this.store.getStream(object.key, object.versionId);
    if (object.contentType === GZIP_TYPE) {
      const gunzip = createGunzip({ chunkSize: 64 * 1024 });
      const piped = pipeline(stream, gunzip);
      try {
        for await (const record of ndjsonRecords(gunzip as AsyncIterable<Buffer>)) yield record as JsonObject;
      } finally {
        gunzip.destroy();
        await piped.catch(() => undefined); // the reader's own error (or its early stop) is what counts
      }
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    for (const record of Array.isArray(value) ? value : [value]) yield record as JsonObject;
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
    if (await this.store.head(key)) throw manifestExists(key);
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

  /** A JSON document, written once: adopted when an earlier attempt completed it. */
  private async writeJson(
    key: string,
    value: unknown,
    records: number,
    fence: WriteFence,
  ): Promise<ManifestObject> {
    const adopted = await this.adopt(key, JSON_TYPE);
    if (adopted) return adopted.object;
    const body = Buffer.from(`${jsonText(value, 2)}\n`, 'utf8');
    const retention = this.retention();
    let stored: StoredObject;
    try {
      stored = await this.store.putBytes(key, body, JSON_TYPE, {
        retention,
        metadata: { [META_SHA256]: sha256(body), [META_RECORDS]: String(records) },
        fence: () => fence.check(),
        signal: fence.signal,
      });
    } catch (error) {
      if (error instanceof ObjectExistsError) return this.adoptAfterRace(key, JSON_TYPE);
      throw error;
    }
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

  /** Gzipped NDJSON, streamed and written once: adopted when an earlier attempt completed it. */
  private async writeNdjson(
    key: string,
    records: AsyncIterable<JsonObject>,
    onRecords: (count: number) => void,
    fence: WriteFence,
  ): Promise<{ object: ManifestObject; digest: string; adopted: boolean }> {
    const adopted = await this.adopt(key, GZIP_TYPE);
    if (adopted) {
      onRecords(adopted.object.records);
      return { ...adopted, adopted: true };
    }
    let count = 0;
    const digest = new LeadsDigest();
    const gzip = createGzip({ level: GZIP_LEVEL, chunkSize: 64 * 1024 });
    const hashed = new DigestStream();
    const body = new PassThrough();
    const compressed = pipeline(gzip, hashed, body);
    const fed = writeNdjson(
      records,
      gzip,
      (line) => digest.addLine(line),
      (n) => {
        count = n;
        onRecords(n);
      },
    ).catch((error: unknown) => {
      gzip.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    });
    // The pipeline fails with the first error: the records' own (it destroyed gzip with it) or the
    // upload's (putStream destroyed `body` with it). The writer's then is only a consequence.
    const produced = Promise.allSettled([fed, compressed]).then(([writer, pipe]) => {
      if (pipe.status === 'rejected') throw pipe.reason;
      if (writer.status === 'rejected') throw writer.reason;
    });
    const retention = this.retention();
    const uploaded = this.store.putStream(key, body, GZIP_TYPE, this.config.archive.partSizeBytes, {
      retention,
      // known once the stream ended: stored when the object goes up in one PutObject
      metadataAtEnd: () => ({ [META_SHA256]: hashed.hex(), [META_RECORDS]: String(count) }),
      fence: () => fence.check(),
      signal: fence.signal,
    });
    const [producedResult, uploadedResult] = await Promise.allSettled([produced, uploaded]);
    const uploadError: unknown = uploadedResult.status === 'rejected' ? uploadedResult.reason : undefined;
    if (uploadError instanceof ObjectExistsError) {
      return { ...(await this.adoptWithDigest(key)), adopted: true };
    }
    // The producer's own failure (an upstream error, an incomplete listing) is the cause; the
    // upload's failure is then only its consequence. A failed upload also fails the producer, with
    // the upload's error.
    if (producedResult.status === 'rejected' && producedResult.reason !== uploadError) {
      throw asDomainError(producedResult.reason, key);
    }
    if (uploadedResult.status === 'rejected') throw asDomainError(uploadError, key);
    const stored = uploadedResult.value;
    if (retention) await this.ensureRetention(stored, retention);
    return {
      object: {
        key,
        bytes: hashed.bytes,
        sha256: hashed.hex(),
        records: count,
        contentType: GZIP_TYPE,
        versionId: stored.versionId,
      },
      digest: digest.hex(),
      adopted: false,
    };
  }

  /** The leads, in parts recorded as they go up, so that a crash costs at most one part. */
  private async writeResumableLeads(
    key: string,
    resumable: { open: OpenLeads; checkpoints: LeadsCheckpoints },
    onRecords: (count: number) => void,
    fence: WriteFence,
  ): Promise<{ object: ManifestObject; digest: string; adopted: boolean }> {
    const adopted = await this.adopt(key, GZIP_TYPE);
    if (adopted) {
      await resumable.checkpoints.clear();
      onRecords(adopted.object.records);
      return { ...adopted, adopted: true };
    }
    const retention = this.retention();
    let written: WrittenLeads;
    try {
      written = await this.resumableWriter.write(key, GZIP_TYPE, resumable.open, resumable.checkpoints, {
        retention,
        fence: () => fence.check(),
        signal: fence.signal,
        onRecords,
        metadataOf: (sha, records) => ({ [META_SHA256]: sha, [META_RECORDS]: String(records) }),
      });
    } catch (error) {
      if (error instanceof ObjectExistsError) {
        await resumable.checkpoints.clear();
        return { ...(await this.adoptWithDigest(key)), adopted: true };
      }
      throw asDomainError(error, key);
    }
    if (retention) await this.ensureRetention(written.stored, retention);
    return {
      object: {
        key,
        bytes: written.bytes,
        sha256: written.sha256,
        records: written.records,
        contentType: GZIP_TYPE,
        versionId: written.stored.versionId,
      },
      digest: written.leadsDigest,
      adopted: false,
    };
  }

  /**
   * The object an earlier attempt completed at `key`, if any, read back in full: it is adopted
   * only when its bytes match the SHA-256 and record count stored on it. An object written in a
   * multipart upload carries no such metadata (it must be named before the first part); it is
   * adopted when it reads back whole: gzip's CRC-32 and length trailer check every byte, and every
   * line must be a JSON object. An object that fails these checks cannot be replaced (keys are
   * written once), so the export fails for good and says which key.
   */
  private async adopt(
    key: string,
    contentType: string,
  ): Promise<{ object: ManifestObject; digest: string } | null> {
    const head = await this.store.head(key);
    if (!head) return null;
    // Lines are parsed only when no SHA-256 vouches for the bytes; a mismatch fails below anyway.
    const reading: NdjsonReading = head.metadata[META_SHA256] === undefined ? 'parse' : 'digest';
    let measured: Measured;
    try {
      measured = await this.measure({ key, versionId: head.versionId, contentType }, reading);
    } catch (error) {
      if (isDomainError(error) && error.retryable) throw error;
      throw cannotAdopt(key, `it does not read back whole (${(error as Error).message})`);
    }
    const claimedSha256 = head.metadata[META_SHA256];
    const claimedRecords = head.metadata[META_RECORDS];
    if (claimedSha256 !== undefined && claimedSha256 !== measured.sha256) {
      throw cannotAdopt(key, 'its bytes differ from the SHA-256 stored on it');
    }
    if (claimedRecords !== undefined && Number(claimedRecords) !== measured.records) {
      throw cannotAdopt(key, `it holds ${measured.records} records, ${claimedRecords} stored on it`);
    }
    const object: StoredObject = { key, versionId: head.versionId };
    const retention = this.retention();
    // an earlier attempt may have died between the write and setting its retention
    if (retention) await this.ensureRetention(object, retention);
    this.logger.log(`adopting ${key}, completed by an earlier attempt`);
    return {
      object: {
        key,
        bytes: measured.bytes,
        sha256: measured.sha256,
        records: measured.records,
        contentType,
        versionId: head.versionId,
      },
      digest: measured.leadsDigest,
    };
  }

  /** After a conditional write was refused (412): the object written meanwhile is adopted. */
  private async adoptAfterRace(key: string, contentType: string): Promise<ManifestObject> {
    const adopted = await this.adopt(key, contentType);
    if (!adopted) throw new ObjectExistsError(key); // refused, yet gone: let the step retry
    return adopted.object;
  }

  private async adoptWithDigest(key: string): Promise<{ object: ManifestObject; digest: string }> {
    const adopted = await this.adopt(key, GZIP_TYPE);
    if (!adopted) throw new ObjectExistsError(key);
    return adopted;
  }

  /**
   * Sets the retention on a version that lacks it (multipart uploads ignore lock headers on some
   * stores) or holds a shorter one (an object adopted from an earlier attempt was locked from its
   * own write: it is extended, which Object Lock allows and which writes no new version), then
   * confirms it.
   */
  private async ensureRetention(object: StoredObject, retention: Retention): Promise<void> {
    const actual = await this.store.getRetention(object);
    if (
      !actual ||
      actual.mode !== retention.mode ||
      actual.retainUntil.getTime() < retention.retainUntil.getTime() - 1000
    ) {
      await this.store.setRetention(object, retention);
    }
    await this.confirmRetention(object, retention);
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

  /**
   * Reads an object back: its size, SHA-256 and records, and for NDJSON as much of each line as
   * `reading` asks (see NdjsonReading). A JSON document is always parsed (its records are the
   * length of its array); it is small.
   */
  private async measure(
    object: Pick<ManifestObject, 'key' | 'versionId' | 'contentType'>,
    reading: NdjsonReading,
  ): Promise<Measured> {
    const digest = new DigestStream();
    const stream = await this.store.getStream(object.key, object.versionId);
    if (object.contentType === GZIP_TYPE) {
      // 64 KiB out per callback rather than zlib's 16 KiB: a quarter of the hops for 45 MB per 100k leads
      const gunzip = createGunzip({ chunkSize: 64 * 1024 });
      const [, read] = await Promise.all([
        pipeline(stream, digest, gunzip),
        readNdjson(gunzip as AsyncIterable<Buffer>, reading),
      ]);
      return { bytes: digest.bytes, sha256: digest.hex(), ...read };
    }
    const chunks: Buffer[] = [];
    const collect = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    await pipeline(stream, digest, collect);
    const records = countJsonRecords(Buffer.concat(chunks));
    return { bytes: digest.bytes, sha256: digest.hex(), records, leadsDigest: '' };
  }
}

interface Measured {
  bytes: number;
  sha256: string;
  records: number;
  /** For NDJSON read with `digest` or `parse`: the LeadsDigest of its lines. */
  leadsDigest: string;
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

async function* noLeads(): AsyncGenerator<JsonObject> {}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function countJsonRecords(bytes: Buffer): number {
  const value: unknown = JSON.parse(bytes.toString('utf8'));
  return Array.isArray(value) ? value.length : 1;
}

function manifestExists(key: string): DomainError {
  return new DomainError(
    'ARCHIVE_WRITE_FAILED',
    `a manifest already exists at ${key}; refusing to overwrite it`,
    {
      retryable: true, // a retry adopts the manifest it finds
      details: { key },
    },
  );
}

function cannotAdopt(key: string, why: string): DomainError {
  return new DomainError(
    'ARCHIVE_WRITE_FAILED',
    `${key} exists from an earlier attempt but cannot be adopted: ${why}; archive keys are written once, so this teardown cannot complete its archive (abort it and request a new teardown)`,
    { retryable: false, details: { key } },
  );
}

function verificationFailed(problems: string[]): DomainError {
  return new DomainError(
    'ARCHIVE_VERIFICATION_FAILED',
    `the archive does not match its manifest: ${truncate(problems[0] ?? '', 500)}`,
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
    `writing ${key} failed: ${truncate((error as Error)?.message ?? String(error), 500)}`,
    {
      retryable: true,
      cause: error,
    },
  );
}

export type { ArchiveObjectName };
