import { Logger } from '@nestjs/common';
import { createSHA256 } from 'hash-wasm';
import { createGzip, type Gzip } from 'node:zlib';
import { DomainError, isDomainError } from '../common/domain-error.js';
import type { JsonObject } from '../common/json.js';
import type { ArchiveStoreClient, Retention, StoredObject } from './archive-store.client.js';
import { type LeadsCheckpoints, type LeadsPartRecord, planResume, resumePoint } from './leads-checkpoint.js';
import { LeadsDigest } from './leads-digest.js';
import { NdjsonEncoder } from './ndjson.js';
import type { PartBufferPool } from './part-buffer-pool.js';

/** Distinct leads, a page at a time, from a given page on, with their de-duplication state. */
export interface ResumableLeads {
  /** `lines`, when given: beside each lead, its line's bytes (without `\n`) or null (see NdjsonEncoder.add). */
  pages: AsyncIterable<{ page: number; leads: JsonObject[]; lines?: Array<Uint8Array | null> }>;
  /** The seeds of the de-duplication fingerprints. */
  seeds: [number, number];
  /** The fingerprints the leads yielded since the last call added: recorded with each part. */
  takeFingerprints(): Buffer;
  /** DialNexa's `meta.total` as last reported. */
  totalReported(): number | null;
}

/**
 * Opens the listing at `firstPage`, its de-duplication state rebuilt from the fingerprints of the
 * recorded parts (under `seeds`; fresh seeds when null).
 */
export type OpenLeads = (from: {
  firstPage: number;
  seeds: [number, number] | null;
  fingerprints: Buffer[];
}) => ResumableLeads;

export interface WrittenLeads {
  stored: StoredObject;
  bytes: number;
  sha256: string;
  records: number;
  leadsDigest: string;
  /** True when it went up in one PutObject, carrying its SHA-256 and record count as metadata. */
  whole: boolean;
}

export interface ResumableWriteOptions {
  retention?: Retention;
  fence: () => Promise<void>;
  signal?: AbortSignal;
  onRecords: (count: number) => void;
  /** Metadata a one-PutObject object carries (its SHA-256 and records), by the archive's names. */
  metadataOf: (sha256: string, records: number) => Record<string, string>;
}

/** Room past the part size for the page that fills a part (a part ends at a page boundary). */
const PAGE_ROOM_BYTES = 256 * 1024;

/**
 * Writes `leads.ndjson.gz` so that a crash costs at most one part: each multipart part is a gzip
 * member of its own (concatenated members are one valid gzip stream) ending at a page boundary,
 * and once the store has it the part is recorded (LeadsCheckpoints) with its page range, ETag,
 * size, lead count, the running SHA-256 state and LeadsDigest, and the de-duplication fingerprints
 * its leads added. A later attempt lists the upload's parts (ListParts), keeps the recorded ones
 * the store still holds, and goes on from the page after them, in the same upload.
 *
 * The de-duplication state is persisted rather than rebuilt from the store: the parts of an upload
 * not yet completed cannot be read back from S3 (GetObject serves completed objects only), and 8
 * bytes a lead in PostgreSQL (8 MB for a million leads, spread over the parts) costs less than
 * reading and parsing the whole export again.
 *
 * The object appears only at the fenced CompleteMultipartUpload (`If-None-Match: *`); leads that
 * fit in one part still go up in one PutObject with their SHA-256 and record count, as before.
 */
export class ResumableLeadsWriter {
  private readonly logger = new Logger(ResumableLeadsWriter.name);

  constructor(
    private readonly store: ArchiveStoreClient,
    private readonly pool: PartBufferPool,
    private readonly partSizeBytes: number,
    private readonly gzipLevel: number,
  ) {}

  async write(
    key: string,
    contentType: string,
    open: OpenLeads,
    checkpoints: LeadsCheckpoints,
    options: ResumableWriteOptions,
  ): Promise<WrittenLeads> {
    const recorded = await checkpoints.load();
    const onStore = recorded?.key === key ? await this.store.listParts(key, recorded.uploadId) : null;
    const plan = planResume(recorded, key, onStore);
    if (recorded && plan.kind === 'fresh') {
      this.logger.warn(
        `${key}: ${plan.reason ?? 'no upload to resume'}; the export starts again from page 1`,
      );
      await this.store.abortUpload(recorded.key, recorded.uploadId);
      await checkpoints.clear();
    }
    const parts: LeadsPartRecord[] = plan.kind === 'resume' ? [...plan.upload.parts] : [];
    let uploadId = plan.kind === 'resume' ? plan.upload.uploadId : null;
    const from = resumePoint(parts);
    if (plan.kind === 'resume') {
      this.logger.log(
        `${key}: resuming upload after part ${parts.length} (pages 1-${from.nextPage - 1}, ${from.leads} leads)` +
          (plan.dropped > 0
            ? `; ${plan.dropped} recorded parts were not in the store and are sent again`
            : ''),
      );
    }
    const leads = open({
      firstPage: from.nextPage,
      seeds: plan.kind === 'resume' ? plan.upload.seeds : null,
      fingerprints: parts.map((p) => p.fingerprints),
    });
    const last = parts.at(-1);
    const sha = await createSHA256();
    if (last) sha.load(last.sha256State);
    else sha.init();
    const digest = last ? LeadsDigest.fromHex(last.leadsDigest) : new LeadsDigest();
    const totalAtCheckpoint = last?.leadsTotalReported ?? null;
    let records = from.leads;
    let bytes = from.bytes;
    let partNumber = from.nextPart;
    let partFirstPage = from.nextPage;
    let partLeads = 0;
    let member: Member | null = null;
    let uploading: Promise<void> | null = null;
    const encoder = new NdjsonEncoder((line) => digest.addLine(line));

    // a part goes up while the next one fills; it is recorded once the store has it, in order
    const sendPart = async (body: Buffer, release: () => void, record: Omit<LeadsPartRecord, 'etag'>) => {
      try {
        if (uploadId === null) {
          uploadId = await this.store.createUpload(key, contentType, {
            retention: options.retention,
            signal: options.signal,
          });
          await checkpoints.begin({ key, uploadId, seeds: leads.seeds });
        }
        const etag = await this.store.uploadPart(key, uploadId, record.partNumber, body, options.signal);
        const part = { ...record, etag };
        await checkpoints.savePart(part);
        parts.push(part);
      } finally {
        release();
      }
    };

    try {
      for await (const page of leads.pages) {
        const total = leads.totalReported();
        if (totalAtCheckpoint !== null && total !== null && total < totalAtCheckpoint) {
          // leads were removed upstream since the recorded parts: later pages have shifted under
          // them, and a lead moved onto an early page would be missed without the count noticing
          throw new RestartFromPageOne(
            `DialNexa lists ${total} leads, ${totalAtCheckpoint} when the last recorded part was cut: leads were removed since, so the pages after it may have shifted`,
          );
        }
        member ??= await Member.open(this.pool, this.partSizeBytes, this.gzipLevel, options.signal);
        const lines = page.lines;
        for (let index = 0; index < page.leads.length; index++) {
          const full = encoder.add(page.leads[index], lines?.[index]);
          if (full) await member.write(full, encoder);
        }
        records += page.leads.length;
        partLeads += page.leads.length;
        options.onRecords(records);
        if (member.bytes < this.partSizeBytes) continue;
        const rest = encoder.flush();
        if (rest) await member.write(rest, encoder);
        const { body, release } = await member.finish();
        member = null;
        sha.update(body);
        bytes += body.length;
        const record = {
          partNumber,
          bytes: body.length,
          leads: partLeads,
          firstPage: partFirstPage,
          lastPage: page.page,
          sha256State: Buffer.from(sha.save()),
          leadsDigest: digest.hex(),
          fingerprints: leads.takeFingerprints(),
          leadsTotalReported: total,
        };
        await uploading;
        uploading = sendPart(body, release, record);
        uploading.catch(() => {}); // awaited before the next part, at the end, or below on failure
        partNumber += 1;
        partFirstPage = page.page + 1;
        partLeads = 0;
      }
      member ??= await Member.open(this.pool, this.partSizeBytes, this.gzipLevel, options.signal);
      const rest = encoder.flush();
      if (rest) await member.write(rest, encoder);
      const { body, release } = await member.finish();
      member = null;
      await uploading;
      uploading = null;
      sha.update(body);
      bytes += body.length;
      options.onRecords(records);
      if (uploadId === null) {
        // it all fits in one part: one PutObject, with its SHA-256 and record count on it
        const sha256 = sha.digest('hex');
        try {
          await options.fence();
          const stored = await this.store.putBytes(key, body, contentType, {
            retention: options.retention,
            metadata: options.metadataOf(sha256, records),
            signal: options.signal,
          });
          return { stored, bytes, sha256, records, leadsDigest: digest.hex(), whole: true };
        } finally {
          release();
        }
      }
      let etag: string;
      try {
        // the last part is not recorded: the upload completes with it
        etag = await this.store.uploadPart(key, uploadId, partNumber, body, options.signal);
      } finally {
        release();
      }
      const completed = [...parts, { partNumber, etag }];
      const stored = await this.store.completeUpload(key, uploadId, completed, {
        fence: options.fence,
        signal: options.signal,
      });
      await checkpoints.clear();
      return { stored, bytes, sha256: sha.digest('hex'), records, leadsDigest: digest.hex(), whole: false };
    } catch (error) {
      await uploading?.catch(() => {});
      member?.destroy();
      if (
        error instanceof RestartFromPageOne ||
        (isDomainError(error) && error.code === 'ARCHIVE_INCOMPLETE')
      ) {
        // what was uploaded cannot be trusted as a prefix of the next listing: the next attempt
        // starts from page 1 in a new upload
        if (uploadId !== null) await this.store.abortUpload(key, uploadId).catch(() => {});
        await checkpoints.clear().catch(() => {});
        if (error instanceof RestartFromPageOne) {
          throw new DomainError(
            'ARCHIVE_INCOMPLETE',
            `${error.message}; the export starts again from page 1`,
            {
              retryable: true,
            },
          );
        }
      }
      // otherwise the upload and its recorded parts stay for the next attempt to go on with
      throw error;
    }
  }
}

class RestartFromPageOne extends Error {}

/**
 * One gzip member, its output copied into a buffer of the shared part budget (with room for the
 * page that fills it; a page compressing to more than that spills over, outside the budget).
 */
class Member {
  private used = 0;
  private readonly spill: Buffer[] = [];
  private failure: Error | null = null;

  private constructor(
    private readonly gzip: Gzip,
    private readonly buffer: Buffer,
    private readonly pool: PartBufferPool,
  ) {
    gzip.on('data', (chunk: Buffer) => {
      if (this.spill.length === 0 && this.used + chunk.length <= buffer.length) {
        chunk.copy(buffer, this.used);
        this.used += chunk.length;
      } else {
        this.spill.push(chunk);
      }
    });
    gzip.on('error', (error) => (this.failure = error));
  }

  static async open(
    pool: PartBufferPool,
    partSize: number,
    level: number,
    signal?: AbortSignal,
  ): Promise<Member> {
    const room = Math.max(0, Math.min(PAGE_ROOM_BYTES, pool.capacityBytes - partSize));
    const buffer = await pool.acquire(partSize + room, signal);
    return new Member(createGzip({ level, chunkSize: 64 * 1024 }), buffer, pool);
  }

  /** Compressed bytes so far (zlib may still hold some). */
  get bytes(): number {
    return this.used + this.spill.reduce((sum, chunk) => sum + chunk.length, 0);
  }

  /** Resolves once zlib has read the batch, which then goes back to the encoder. */
  async write(batch: Buffer, encoder: NdjsonEncoder): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) =>
      this.gzip.write(batch, (error) => (error ? reject(error) : resolve())),
    );
    encoder.recycle(batch);
  }

  /** Ends the member: its bytes, and the release of its buffer once they are sent. */
  async finish(): Promise<{ body: Buffer; release: () => void }> {
    await new Promise<void>((resolve, reject) => {
      this.gzip.once('end', resolve);
      this.gzip.once('error', reject);
      this.gzip.end();
      this.gzip.resume();
    });
    if (this.failure) throw this.failure;
    const head = this.buffer.subarray(0, this.used);
    if (this.spill.length === 0) return { body: head, release: () => this.pool.release(this.buffer) };
    const body = Buffer.concat([head, ...this.spill]);
    this.pool.release(this.buffer);
    return { body, release: () => {} };
  }

  destroy(): void {
    this.gzip.destroy();
    this.pool.release(this.buffer);
  }
}
