/**
 * Each archive key is written once (service contract, "Archive layout in S3"), against the real
 * S3 store: an export that resumes after an S3 outage adopts what the earlier attempt completed and
 * writes only what is missing; an object that does not match the checksum stored on it is neither
 * adopted nor replaced; a writer that lost its lease writes nothing more. And whatever the strings
 * hold, what is stored parses back to exactly what was served.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  ArchiveService,
  type ArchiveTarget,
  type ExportSource,
  type WriteFence,
} from '../../src/archive/archive.service.js';
import { ArchiveStoreClient } from '../../src/archive/archive-store.client.js';
import { DomainError } from '../../src/common/domain-error.js';
import { newTeardownId } from '../../src/common/ids.js';
import type { JsonObject } from '../../src/common/json.js';
import type { AppConfig } from '../../src/config/app.config.js';
import { S3Proxy } from '../chaos/harness.ts';
import { buildConfig, requireS3, RUN_PREFIX } from '../support/int-env.js';

// --- factories -----------------------------------------------------------------------------------

function buildTarget(): ArchiveTarget {
  return { teardownId: newTeardownId(), workflowId: `wfl_${randomBytes(6).toString('hex')}` };
}

/** Values that broke or could break a naive archive: every one must come back as served. */
const HOSTILE = JSON.parse(
  String.raw`{"ls":"a\u2028b\u2029c","nul":"x\u0000y","lone":["\ud800","\udfff","z\ud83d"],` +
    String.raw`"emoji":"👩‍👩‍👧 🏳️‍🌈","combining":"e\u0301\u0308","rtl":"שלום مرحبا","cr":"a\rb\u0085",` +
    String.raw`"__proto__":{"polluted":true},"constructor":"c","":"empty key","neg":-0,"exp":[1e21,1.5e-7,-2E-308]}`,
) as JsonObject;

function buildLead(i: number, overrides: JsonObject = {}): JsonObject {
  return {
    id: `led_${String(i).padStart(8, '0')}`,
    phone_number: `+1415555${String(i).padStart(4, '0')}`,
    status: 'pending',
    metadata: HOSTILE,
    ...overrides,
  };
}

function buildLeads(count: number, blobBytes = 0): JsonObject[] {
  return Array.from({ length: count }, (_, i) =>
    buildLead(i, blobBytes > 0 ? { recording: randomBytes(blobBytes).toString('base64') } : {}),
  );
}

async function* stream(leads: JsonObject[]): AsyncGenerator<JsonObject> {
  for (const lead of leads) yield lead;
}

function buildSource(
  leads: JsonObject[],
  workflow: JsonObject = { id: 'wfl_x', name: 'first' },
): ExportSource {
  return {
    workflow: { ...workflow, notes: HOSTILE },
    nodes: [{ id: 'nod_1', node_type: 'VOICE_CALL', config: HOSTILE }],
    edges: [{ id: 'edg_1', from: 'nod_1', to: 'nod_2', label: 'a\u2028b' }],
    leads: stream(leads),
    leadsTotalReported: () => leads.length,
  };
}

/** A fence that lets `allowed` writes through, then refuses as a lost lease does. */
function fenceAllowing(allowed: number): WriteFence & { checks: number } {
  const fence = {
    checks: 0,
    check: () => {
      fence.checks += 1;
      if (fence.checks > allowed) {
        return Promise.reject(new DomainError('LEASE_LOST', 'lease lost', { retryable: true }));
      }
      return Promise.resolve();
    },
  };
  return fence;
}

/** Structural equality that tells -0 from 0 (jest's toEqual does too, but says less on failure). */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return (
    Array.isArray(a) === Array.isArray(b) &&
    keysA.length === keysB.length &&
    keysA.every(
      (k, i) =>
        keysB[i] === k && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

// --- the suite -----------------------------------------------------------------------------------

describe(`${ArchiveService.name}: each key written once`, () => {
  let config: AppConfig;
  let s3: S3Client;
  let bucket: string;
  let proxy: S3Proxy | null = null;
  const stores: ArchiveStoreClient[] = [];

  function build(overrides: Record<string, string> = {}): ArchiveService {
    const cfg = buildConfig(overrides);
    const store = new ArchiveStoreClient(cfg);
    stores.push(store);
    return new ArchiveService(store, cfg);
  }

  function dirOf(target: ArchiveTarget): string {
    return `${RUN_PREFIX}${target.workflowId}/${target.teardownId}/`;
  }

  /** Every version of every key under the teardown's folder, delete markers included. */
  async function versionsUnder(prefix: string): Promise<Map<string, number>> {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
    const counts = new Map<string, number>();
    for (const v of [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])]) {
      counts.set(v.Key!, (counts.get(v.Key!) ?? 0) + 1);
    }
    return counts;
  }

  async function getBytes(key: string): Promise<Buffer> {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  async function leadsStored(target: ArchiveTarget): Promise<unknown[]> {
    const text = gunzipSync(await getBytes(`${dirOf(target)}leads.ndjson.gz`)).toString('utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown);
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

  afterEach(async () => {
    await proxy?.stop();
    proxy = null;
  });

  afterAll(() => {
    for (const store of stores) store.onApplicationShutdown();
    s3.destroy();
  });

  it('stores every value so that it parses back exactly as served: U+2028, NUL, lone surrogates, -0, __proto__', async () => {
    const sut = build();
    const target = buildTarget();
    const leads = buildLeads(50);
    const source = buildSource(leads);

    const ref = await sut.verify(await sut.export(target, source, () => {}));

    expect(ref.counts).toEqual({ nodes: 1, edges: 1, leads: 50 });
    const workflow = JSON.parse(
      (await getBytes(`${dirOf(target)}workflow.json`)).toString('utf8'),
    ) as unknown;
    expect(sameJson(workflow, source.workflow)).toBe(true);
    const nodes = JSON.parse((await getBytes(`${dirOf(target)}nodes.json`)).toString('utf8')) as unknown;
    expect(sameJson(nodes, source.nodes)).toBe(true);
    const stored = await leadsStored(target);
    expect(stored).toHaveLength(50);
    expect(stored.every((lead, i) => sameJson(lead, leads[i]))).toBe(true);
    expect(Object.is((stored[0] as { metadata: { neg: number } }).metadata.neg, -0)).toBe(true);
  });

  it('resumes after an S3 outage in the middle of an export: adopts what was written, writes the rest, every key has one version', async () => {
    proxy = await new S3Proxy(config.s3.endpoint, bucket).start();
    // locked: an adopted object keeps its lock, extended to the resumed export's retention
    const viaProxy = build({
      S3_ENDPOINT: proxy.url,
      ARCHIVE_LOCK_MODE: 'GOVERNANCE',
      ARCHIVE_RETENTION_DAYS: '1',
    });
    const target = buildTarget();
    const p = proxy;
    // S3 goes away when the leads are being written: workflow, nodes and edges are in the store
    p.beforeForward = (call) => {
      if (call.method === 'PUT' && call.key.endsWith('leads.ndjson.gz')) {
        p.cut();
        return 'drop';
      }
      return 'forward';
    };
    await expect(viaProxy.export(target, buildSource(buildLeads(30)), () => {})).rejects.toMatchObject({
      code: 'ARCHIVE_STORE_UNAVAILABLE',
      retryable: true,
    });
    expect([...(await versionsUnder(dirOf(target))).keys()].sort()).toEqual(
      ['edges.json', 'nodes.json', 'workflow.json'].map((name) => `${dirOf(target)}${name}`),
    );

    p.beforeForward = null;
    p.restore();
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the resumed retention ends later
    const writesBefore = p.calls.filter(
      (c) => (c.method === 'PUT' || c.method === 'POST') && !c.query.includes('retention'),
    ).length;
    // the workflow changed upstream meanwhile: the stored workflow.json stands, it is not rewritten
    const resumed = await viaProxy.export(
      target,
      buildSource(buildLeads(30), { id: 'wfl_x', name: 'second' }),
      () => {},
    );
    await viaProxy.verify(resumed);

    const versions = await versionsUnder(dirOf(target));
    expect([...versions.keys()].sort()).toEqual(
      ['edges.json', 'leads.ndjson.gz', 'manifest.json', 'nodes.json', 'workflow.json'].map(
        (name) => `${dirOf(target)}${name}`,
      ),
    );
    expect([...versions.values()].every((n) => n === 1)).toBe(true);
    // object writes only: PutObjectRetention (`?retention`) extends a lock and writes no version
    const writes = p.calls.filter(
      (c) => (c.method === 'PUT' || c.method === 'POST') && !c.query.includes('retention'),
    );
    expect(writes.slice(writesBefore).map((c) => c.key.slice(dirOf(target).length))).toEqual([
      'leads.ndjson.gz',
      'manifest.json',
    ]);
    const workflow = JSON.parse((await getBytes(`${dirOf(target)}workflow.json`)).toString('utf8')) as {
      name: string;
    };
    expect(workflow.name).toBe('first');
  });

  it('adopts a multipart leads object completed before a crash, by reading it back whole, and writes it no second time', async () => {
    const sut = build({ ARCHIVE_PART_SIZE_MB: '5' });
    const target = buildTarget();
    const leads = buildLeads(2_000, 3_000); // ~8 MB of gzip: a multipart upload
    // the first attempt dies right before its manifest: every object is complete
    const dies = fenceAllowing(4);
    await expect(
      sut.export(target, buildSource(leads), () => {}, 'export', null, dies),
    ).rejects.toMatchObject({
      code: 'LEASE_LOST',
    });
    const before = await versionsUnder(dirOf(target));
    expect(before.get(`${dirOf(target)}leads.ndjson.gz`)).toBe(1);
    expect(before.has(`${dirOf(target)}manifest.json`)).toBe(false);

    const fetched: number[] = [];
    async function* counting(): AsyncGenerator<JsonObject> {
      for (const lead of leads) {
        fetched.push(1);
        yield lead;
      }
    }
    const ref = await sut.export(target, { ...buildSource(leads), leads: counting() }, () => {});
    const verified = await sut.verify(ref);

    expect(fetched).toHaveLength(0); // the adopted leads were not listed again
    expect(verified.counts.leads).toBe(2_000);
    const after = await versionsUnder(dirOf(target));
    expect([...after.values()].every((n) => n === 1)).toBe(true);
    expect(after.size).toBe(5);
  });

  it('neither adopts nor replaces an object whose bytes differ from the SHA-256 stored on it', async () => {
    const sut = build();
    const target = buildTarget();
    const key = `${dirOf(target)}workflow.json`;
    const body = Buffer.from('{"id":"wfl_x","name":"tampered"}\n');
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentMD5: createHash('md5').update(body).digest('base64'),
        Metadata: { sha256: createHash('sha256').update('something else').digest('hex'), records: '1' },
      }),
    );

    await expect(sut.export(target, buildSource(buildLeads(3)), () => {})).rejects.toMatchObject({
      code: 'ARCHIVE_WRITE_FAILED',
      retryable: false,
      message: expect.stringContaining('differ from the SHA-256 stored on it'),
    });
    const versions = await versionsUnder(dirOf(target));
    expect([...versions.entries()]).toEqual([[key, 1]]); // nothing else written, nothing replaced
  });

  it('a writer that lost its lease writes nothing more: no further key, no manifest', async () => {
    const sut = build();
    const target = buildTarget();
    const fence = fenceAllowing(2); // workflow.json and nodes.json, then the lease is gone

    await expect(
      sut.export(target, buildSource(buildLeads(10)), () => {}, 'export', null, fence),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' });

    expect([...(await versionsUnder(dirOf(target))).keys()].sort()).toEqual(
      ['nodes.json', 'workflow.json'].map((name) => `${dirOf(target)}${name}`),
    );
  });

  it('a writer that loses its lease during a multipart upload never completes it: no leads object, no parts left', async () => {
    const sut = build({ ARCHIVE_PART_SIZE_MB: '5' });
    const target = buildTarget();
    const fence = fenceAllowing(3); // the JSON objects pass; the CompleteMultipartUpload is refused

    await expect(
      sut.export(target, buildSource(buildLeads(2_000, 3_000)), () => {}, 'export', null, fence),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' });

    const versions = await versionsUnder(dirOf(target));
    expect(versions.has(`${dirOf(target)}leads.ndjson.gz`)).toBe(false);
    expect(versions.has(`${dirOf(target)}manifest.json`)).toBe(false);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: dirOf(target) }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it('a lost lease aborts the S3 requests in flight', async () => {
    const sut = build({ ARCHIVE_PART_SIZE_MB: '5' });
    const target = buildTarget();
    const aborter = new AbortController();
    let yielded = 0;
    async function* leadsThatLoseTheLease(): AsyncGenerator<JsonObject> {
      for (const lead of buildLeads(2_000, 3_000)) {
        yielded += 1;
        if (yielded === 1_900) aborter.abort(new Error('lease lost'));
        yield lead;
      }
    }
    const fence: WriteFence = {
      signal: aborter.signal,
      check: () =>
        aborter.signal.aborted
          ? Promise.reject(new DomainError('LEASE_LOST', 'lease lost', { retryable: true }))
          : Promise.resolve(),
    };

    await expect(
      sut.export(
        target,
        { ...buildSource([]), leads: leadsThatLoseTheLease() },
        () => {},
        'export',
        null,
        fence,
      ),
    ).rejects.toBeInstanceOf(DomainError);

    const versions = await versionsUnder(dirOf(target));
    expect(versions.has(`${dirOf(target)}leads.ndjson.gz`)).toBe(false);
    expect(versions.has(`${dirOf(target)}manifest.json`)).toBe(false);
  });
});
