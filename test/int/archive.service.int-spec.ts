/**
 * The archive against the real S3 store (Ceph's RADOS Gateway in the test run): what an export
 * writes, read back with the AWS SDK; Object Lock on every version (Ceph ignores lock headers on
 * multipart uploads, so the leads object is the one to watch); and verification catching a
 * changed object. Every run writes under its own prefix: the bucket is versioned and locked.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ArchiveService, type ArchiveTarget, type ExportSource } from '../../src/archive/archive.service.js';
import { ArchiveStoreClient, type StoredObject } from '../../src/archive/archive-store.client.js';
import { type ArchiveRef, type Manifest, serializeManifest } from '../../src/archive/manifest.js';
import { DomainError } from '../../src/common/domain-error.js';
import { newTeardownId } from '../../src/common/ids.js';
import type { JsonObject } from '../../src/common/json.js';
import type { AppConfig } from '../../src/config/app.config.js';
import { buildConfig, requireS3, RUN_PREFIX } from '../support/int-env.js';

const LEADS = 2_500;

// --- factories -----------------------------------------------------------------------------------

function buildTarget(overrides: Partial<ArchiveTarget> = {}): ArchiveTarget {
  return { teardownId: newTeardownId(), workflowId: `wfl_${randomBytes(6).toString('hex')}`, ...overrides };
}

/** A workflow as DialNexa serves it, with fields the service does not know about. */
function buildWorkflow(overrides: JsonObject = {}): JsonObject {
  return {
    id: 'wfl_m3v7zb9rk2px',
    name: 'Spring re-engagement — “Préstamo” 🚀',
    status: 'ACTIVE',
    created_at: '2026-03-01T09:00:00.000Z',
    settings: { timezone: 'Europe/Madrid', quietHours: [22, 8], retry: null },
    x_unknown_future_field: { nested: [1, 2.5, true, null, 'ü'], empty: {} },
    bigNumber: 9_007_199_254_740_991,
    ...overrides,
  };
}

function buildNode(i: number, overrides: JsonObject = {}): JsonObject {
  return {
    id: `nod_${i}`,
    type: i % 2 === 0 ? 'VOICE_CALL' : 'SMS',
    config: { script: `step ${i}`, x_extra: [i] },
    ...overrides,
  };
}

function buildEdge(i: number, overrides: JsonObject = {}): JsonObject {
  return {
    id: `edg_${i}`,
    from: `nod_${i}`,
    to: `nod_${i + 1}`,
    condition: i === 0 ? null : { on: 'answered' },
    ...overrides,
  };
}

function buildLead(i: number, overrides: JsonObject = {}): JsonObject {
  return {
    id: `led_${String(i).padStart(8, '0')}`,
    phone: `+1415555${String(i).padStart(4, '0')}`,
    status: ['pending', 'in_progress', 'completed'][i % 3],
    current_node_id: `nod_${i % 5}`,
    progress: { step: i % 7, attempts: i % 3, lastCallAt: i % 4 === 0 ? null : '2026-03-02T10:00:00.000Z' },
    customFields: {
      crm_id: `crm-${i}`,
      tags: ['a', `t${i % 11}`],
      note: i % 13 === 0 ? 'line\nbreak "quoted"' : '',
    },
    x_unknown: i % 17 === 0 ? { deep: { deeper: [i] } } : undefined,
    ...overrides,
  };
}

interface LeadOptions {
  count?: number;
  /** Random (incompressible) bytes per lead: large enough, the gzip is a multipart upload. */
  blobBytes?: number;
  /** Throws this after yielding `failAfter` leads. */
  failAfter?: number;
  failure?: Error;
}

function buildLeads({ count = LEADS, blobBytes = 0 }: LeadOptions = {}): JsonObject[] {
  return Array.from({ length: count }, (_, i) =>
    buildLead(i, blobBytes > 0 ? { recording: randomBytes(blobBytes).toString('base64') } : {}),
  );
}

async function* stream(
  leads: JsonObject[],
  { failAfter, failure }: LeadOptions = {},
): AsyncGenerator<JsonObject> {
  for (const [i, lead] of leads.entries()) {
    if (failAfter !== undefined && i === failAfter) throw failure ?? new Error('lead listing ended early');
    yield lead;
  }
}

function buildSource(
  overrides: Partial<ExportSource> = {},
  leads: JsonObject[] = buildLeads(),
): ExportSource {
  return {
    workflow: buildWorkflow(),
    nodes: Array.from({ length: 5 }, (_, i) => buildNode(i)),
    edges: Array.from({ length: 6 }, (_, i) => buildEdge(i)),
    leads: stream(leads),
    leadsTotalReported: () => leads.length,
    ...overrides,
  };
}

/** What JSON keeps of a value (drops `undefined` fields, as JSON.stringify does). */
function asJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The real store client, recording the order in which objects are written. */
class RecordingStoreClient extends ArchiveStoreClient {
  readonly written: string[] = [];

  override async putBytes(...args: Parameters<ArchiveStoreClient['putBytes']>): Promise<StoredObject> {
    const stored = await super.putBytes(...args);
    this.written.push(args[0]);
    return stored;
  }

  override async putStream(...args: Parameters<ArchiveStoreClient['putStream']>): Promise<StoredObject> {
    const stored = await super.putStream(...args);
    this.written.push(args[0]);
    return stored;
  }
}

// --- the suite -----------------------------------------------------------------------------------

describe(ArchiveService.name, () => {
  let config: AppConfig;
  let s3: S3Client;
  let bucket: string;
  const stores: ArchiveStoreClient[] = [];

  function build(overrides: Record<string, string> = {}): {
    sut: ArchiveService;
    store: RecordingStoreClient;
  } {
    const cfg = buildConfig(overrides);
    const store = new RecordingStoreClient(cfg);
    stores.push(store);
    return { sut: new ArchiveService(store, cfg), store };
  }

  async function getBytes(key: string, versionId?: string | null): Promise<Buffer> {
    const out = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId ?? undefined }),
    );
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  async function getJson(key: string, versionId?: string | null): Promise<unknown> {
    return JSON.parse((await getBytes(key, versionId)).toString('utf8'));
  }

  async function head(key: string): Promise<unknown> {
    return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key!).sort();
  }

  function dirOf(target: ArchiveTarget): string {
    return `${RUN_PREFIX}${target.workflowId}/${target.teardownId}/`;
  }

  beforeAll(() => {
    requireS3();
    config = buildConfig();
    bucket = config.s3.bucket;
    s3 = new S3Client({
      region: config.s3.region,
      endpoint: config.s3.endpoint,
      forcePathStyle: config.s3.forcePathStyle,
      credentials: { accessKeyId: config.s3.accessKeyId!, secretAccessKey: config.s3.secretAccessKey! },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  afterAll(() => {
    for (const store of stores) store.onApplicationShutdown();
    s3.destroy();
  });

  describe('export', () => {
    it(`writes workflow, nodes, edges and ${LEADS} leads under {prefix}{workflowId}/{teardownId}/, manifest last, every field kept`, async () => {
      const { sut, store } = build();
      const target = buildTarget();
      const leads = buildLeads();
      const source = buildSource({}, leads);
      const progress: number[] = [];
      const dir = dirOf(target);

      const ref = await sut.export(target, source, (n) => progress.push(n));

      const names = ['workflow.json', 'nodes.json', 'edges.json', 'leads.ndjson.gz'];
      expect(store.written).toEqual([...names, 'manifest.json'].map((n) => `${dir}${n}`));
      await expect(keysUnder(dir)).resolves.toEqual(
        [...names, 'manifest.json'].map((n) => `${dir}${n}`).sort(),
      );
      await expect(getJson(`${dir}workflow.json`)).resolves.toEqual(source.workflow);
      await expect(getJson(`${dir}nodes.json`)).resolves.toEqual(source.nodes);
      await expect(getJson(`${dir}edges.json`)).resolves.toEqual(source.edges);
      const lines = gunzipSync(await getBytes(`${dir}leads.ndjson.gz`))
        .toString('utf8')
        .split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(asJson(leads));
      expect(progress.at(-1)).toBe(LEADS);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));

      const manifestBytes = await getBytes(`${dir}manifest.json`);
      const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
      expect(manifest).toMatchObject({
        formatVersion: 1,
        teardownId: target.teardownId,
        workflowId: target.workflowId,
        exportedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        source: { baseUrl: config.dialnexa.baseUrl, apiVersion: 'v1' },
        leadsTotalReported: LEADS,
      });
      expect(manifest.objects.map((o) => [o.key, o.records, o.contentType])).toEqual([
        [`${dir}workflow.json`, 1, 'application/json'],
        [`${dir}nodes.json`, 5, 'application/json'],
        [`${dir}edges.json`, 6, 'application/json'],
        [`${dir}leads.ndjson.gz`, LEADS, 'application/gzip'],
      ]);
      for (const object of manifest.objects) {
        const bytes = await getBytes(object.key, object.versionId);
        expect({ key: object.key, bytes: bytes.length, sha256: sha256(bytes) }).toEqual({
          key: object.key,
          bytes: object.bytes,
          sha256: object.sha256,
        });
        expect(object.versionId).toEqual(expect.any(String));
      }
      expect(ref).toEqual({
        bucket,
        manifestKey: `${dir}manifest.json`,
        manifestSha256: sha256(manifestBytes),
        manifestVersionId: expect.any(String),
        counts: { nodes: 5, edges: 6, leads: LEADS },
        objects: manifest.objects,
        verifiedAt: null,
        leadsDigest: manifest.leadsDigest,
      });
      expect(manifest.leadsDigest).toMatch(/^[0-9a-f]{64}$/);
      await expect(sut.verify(ref)).resolves.toEqual({ ...ref, verifiedAt: expect.any(String) });
    });

    it('rejects with the lead stream error and leaves no manifest (and no leads object) when the leads fail mid-way', async () => {
      const { sut } = build();
      const target = buildTarget();
      const failure = new DomainError('UPSTREAM_UNAVAILABLE', 'DialNexa answered 503 on page 7', {
        retryable: true,
      });
      const source = buildSource({ leads: stream(buildLeads(), { failAfter: 1_200, failure }) });

      await expect(sut.export(target, source, () => {})).rejects.toBe(failure);
      await expect(head(`${dirOf(target)}manifest.json`)).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
      await expect(head(`${dirOf(target)}leads.ndjson.gz`)).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
      await expect(sut.findExisting(target)).resolves.toBeNull();
    });

    it('wraps a plain lead stream error as a retryable ARCHIVE_WRITE_FAILED, keeping it as the cause', async () => {
      const { sut } = build();
      const target = buildTarget();
      const failure = new Error('socket hang up');
      const source = buildSource({ leads: stream(buildLeads({ count: 10 }), { failAfter: 5, failure }) });

      await expect(sut.export(target, source, () => {})).rejects.toMatchObject({
        code: 'ARCHIVE_WRITE_FAILED',
        retryable: true,
        cause: failure,
      });
      await expect(head(`${dirOf(target)}manifest.json`)).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
    });

    it('aborts a multipart leads upload that fails after its first part: no object, no parts left, no manifest', async () => {
      // ~3 KB of gzip per lead: 2,000 leads are past the 5 MB first part
      const { sut } = build({ ARCHIVE_PART_SIZE_MB: '5' });
      const target = buildTarget();
      const source = buildSource({ leads: stream(buildLeads({ blobBytes: 3_000 }), { failAfter: 2_000 }) });

      await expect(sut.export(target, source, () => {})).rejects.toMatchObject({
        code: 'ARCHIVE_WRITE_FAILED',
        message: expect.stringContaining('lead listing ended early'),
      });
      await expect(head(`${dirOf(target)}manifest.json`)).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
      await expect(head(`${dirOf(target)}leads.ndjson.gz`)).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
      const uploads = await s3.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: dirOf(target) }),
      );
      expect(uploads.Uploads ?? []).toEqual([]);
    });

    it('refuses to write a second manifest for a teardown, and the first archive stays intact', async () => {
      const { sut } = build();
      const target = buildTarget();
      const first = await sut.export(target, buildSource({}, buildLeads({ count: 20 })), () => {});

      await expect(
        sut.export(
          target,
          buildSource({ workflow: buildWorkflow({ name: 'second' }) }, buildLeads({ count: 3 })),
          () => {},
        ),
      ).rejects.toMatchObject({
        code: 'ARCHIVE_WRITE_FAILED',
        message: expect.stringContaining('already exists'),
      });

      const versions = await s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, Prefix: first.manifestKey }),
      );
      expect((versions.Versions ?? []).map((v) => v.VersionId)).toEqual([first.manifestVersionId]);
      await expect(sut.findExisting(target)).resolves.toEqual(first);
      await expect(sut.verify(first)).resolves.toMatchObject({ manifestSha256: first.manifestSha256 });
    });
  });

  describe('verify of a missing manifest', () => {
    it('a manifest that is not in the bucket (gone, or a wrong version) fails as ARCHIVE_VERIFICATION_FAILED', async () => {
      const { sut } = build();
      const ref = await sut.export(buildTarget(), buildSource({}, buildLeads({ count: 5 })), () => {});

      await expect(
        sut.verify({ ...ref, manifestKey: `${ref.manifestKey}.missing`, manifestVersionId: null }),
      ).rejects.toMatchObject({ code: 'ARCHIVE_VERIFICATION_FAILED', retryable: false });
    });
  });

  describe('findExisting', () => {
    it('finds nothing before the export and the same archive ref after it', async () => {
      const { sut } = build();
      const target = buildTarget();
      await expect(sut.findExisting(target)).resolves.toBeNull();

      const ref = await sut.export(target, buildSource({}, buildLeads({ count: 50 })), () => {});

      await expect(sut.findExisting(target)).resolves.toEqual(ref);
    });
  });

  describe('with ARCHIVE_LOCK_MODE=GOVERNANCE', () => {
    it('puts GOVERNANCE retention on every object version, the multipart leads object included, and refuses to delete them', async () => {
      const { sut } = build({
        ARCHIVE_LOCK_MODE: 'GOVERNANCE',
        ARCHIVE_RETENTION_DAYS: '1',
        ARCHIVE_PART_SIZE_MB: '5',
      });
      const target = buildTarget();
      const before = Date.now();

      // ~7.5 MB of gzip: the leads go up as a multipart upload, whose lock headers Ceph ignores
      const ref = await sut.export(target, buildSource({}, buildLeads({ blobBytes: 3_000 })), () => {});

      const leads = ref.objects.find((o) => o.key.endsWith('/leads.ndjson.gz'))!;
      const leadsHead = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: leads.key, VersionId: leads.versionId! }),
      );
      expect(leadsHead.ETag).toMatch(/-\d+"$/); // multipart
      const versions = [...ref.objects, { key: ref.manifestKey, versionId: ref.manifestVersionId }];
      expect(versions).toHaveLength(5);
      for (const { key, versionId } of versions) {
        const out = await s3.send(
          new GetObjectRetentionCommand({ Bucket: bucket, Key: key, VersionId: versionId! }),
        );
        expect({ key, mode: out.Retention?.Mode }).toEqual({ key, mode: 'GOVERNANCE' });
        const until = new Date(out.Retention!.RetainUntilDate!).getTime();
        expect(until).toBeGreaterThan(before + 86_400_000 - 60_000);
        await expect(
          s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId! })),
        ).rejects.toMatchObject({
          $metadata: { httpStatusCode: 403 },
        });
      }
      await expect(sut.verify(ref)).resolves.toMatchObject({ verifiedAt: expect.any(String) });
    });
  });

  describe('verify', () => {
    let sut: ArchiveService;
    let ref: ArchiveRef;

    beforeAll(async () => {
      ({ sut } = build());
      ref = await sut.export(buildTarget(), buildSource({}, buildLeads({ count: 200 })), () => {});
    });

    it('fails with ARCHIVE_VERIFICATION_FAILED naming the object whose pinned version was replaced', async () => {
      // The tamperer writes a new version of nodes.json and a manifest version pointing at it, with
      // the old SHA-256: the ref (as the database would hold it) names that manifest version.
      const nodes = ref.objects.find((o) => o.key.endsWith('/nodes.json'))!;
      const forged = await getBytes(nodes.key, nodes.versionId);
      forged[forged.indexOf('step 0')] = 'S'.charCodeAt(0); // same size, different content
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: nodes.key, Body: forged }));
      const objects = ref.objects.map((o) => (o.key === nodes.key ? { ...o, versionId: put.VersionId! } : o));
      const manifest = { ...((await getJson(ref.manifestKey, ref.manifestVersionId)) as Manifest), objects };
      const manifestBytes = serializeManifest(manifest);
      const manifestPut = await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: ref.manifestKey, Body: manifestBytes }),
      );
      const tampered: ArchiveRef = {
        ...ref,
        objects,
        manifestVersionId: manifestPut.VersionId!,
        manifestSha256: sha256(manifestBytes),
      };

      await expect(sut.verify(tampered)).rejects.toMatchObject({
        code: 'ARCHIVE_VERIFICATION_FAILED',
        retryable: false,
        message: expect.stringContaining(nodes.key),
        details: { problems: [`${nodes.key}: SHA-256 differs from the manifest`] },
      });
      // the original ref still pins the original versions
      await expect(sut.verify(ref)).resolves.toMatchObject({ verifiedAt: expect.any(String) });
    });

    it('fails when the ref records another SHA-256 for an object than the manifest', async () => {
      const objects = ref.objects.map((o) =>
        o.key.endsWith('/leads.ndjson.gz') ? { ...o, sha256: 'f'.repeat(64) } : o,
      );

      await expect(sut.verify({ ...ref, objects })).rejects.toMatchObject({
        code: 'ARCHIVE_VERIFICATION_FAILED',
        details: { problems: ['manifest.json: its object list differs from the recorded one'] },
      });
    });

    it('fails when the manifest is not the one recorded', async () => {
      await expect(sut.verify({ ...ref, manifestSha256: '0'.repeat(64) })).rejects.toMatchObject({
        code: 'ARCHIVE_VERIFICATION_FAILED',
        details: { problems: ['manifest.json: SHA-256 differs from the recorded one'] },
      });
    });
  });

  describe('readRecords and writeOnceLocked (restores, receipts)', () => {
    it('reads an exported object back record by record, leads streamed from the gzip', async () => {
      const { sut } = build();
      const target = buildTarget();
      const leads = buildLeads({ count: 300 });
      const ref = await sut.export(target, buildSource({}, leads), () => {});
      const records = async (name: string) => {
        const read: JsonObject[] = [];
        for await (const r of sut.readRecords(ref.objects.find((o) => o.key.endsWith(name))!)) read.push(r);
        return read;
      };

      expect(await records('/leads.ndjson.gz')).toEqual(asJson(leads));
      expect(await records('/nodes.json')).toHaveLength(ref.counts.nodes);
      expect(await records('/workflow.json')).toHaveLength(1);
    });

    it('writes once under Object Lock; a second write adopts what it accepts and refuses the rest', async () => {
      const { sut } = build({ ARCHIVE_LOCK_MODE: 'GOVERNANCE', ARCHIVE_RETENTION_DAYS: '1' });
      const key = `${RUN_PREFIX}restores/rst_${randomBytes(6).toString('hex')}/id-map.json`;
      const first = Buffer.from('{"restoreId":"rst_a"}\n');
      const accept = (stored: Buffer) =>
        (JSON.parse(stored.toString('utf8')) as { restoreId: string }).restoreId === 'rst_a'
          ? null
          : 'another restore';

      const written = await sut.writeOnceLocked(key, first, accept);
      const adopted = await sut.writeOnceLocked(
        key,
        Buffer.from('{"restoreId":"rst_a","again":1}\n'),
        accept,
      );
      const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key }));

      expect(adopted.bytes.equals(first)).toBe(true);
      expect(adopted.versionId).toBe(written.versionId);
      expect(retention.Retention?.Mode).toBe('GOVERNANCE');
      await expect(sut.writeOnceLocked(key, first, () => 'not this one')).rejects.toMatchObject({
        code: 'ARCHIVE_VERIFICATION_FAILED',
      });
      expect(await getBytes(key)).toEqual(first);
    });
  });
});
