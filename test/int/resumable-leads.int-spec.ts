/**
 * An export of leads stopped after some parts, then resumed: against the real S3 store (Ceph) and
 * the DialNexa simulator on loopback. The resumed attempt goes on in the same multipart upload
 * after the parts it recorded, without listing their pages again, and the archive it completes
 * verifies and holds exactly what an export that was never stopped holds.
 *
 * Kept small for the shared store: about 12 MB of gzip per export (two recorded parts and a last one) (parts are at least 5 MiB, the
 * store's minimum), leads made of incompressible text so that a few thousand fill a part.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ArchiveService, type ArchiveTarget, type WriteFence } from '../../src/archive/archive.service.js';
import { ArchiveStoreClient } from '../../src/archive/archive-store.client.js';
import type { LeadsCheckpoints, LeadsUpload } from '../../src/archive/leads-checkpoint.js';
import { newTeardownId } from '../../src/common/ids.js';
import type { AppConfig } from '../../src/config/app.config.js';
import { DialnexaClient } from '../../src/dialnexa/dialnexa.client.js';
import { type LeadCollector, resumableLeads } from '../../src/teardown/lead-collector.js';
import { DEFAULT_API_KEY, DialnexaSimulator } from '../simulator/dialnexa-simulator.ts';
import { buildConfig, requireS3 } from '../support/int-env.js';

/** 2 KB of random bytes as base64 per lead: about 2.7 KB of gzip, so ~2,000 leads fill a 5 MiB part. */
const BLOB_BYTES = 2_000;
const LEADS = 6_000;

/** LeadsCheckpoints in memory, as the teardown row keeps them; `afterPart` runs once a part is recorded. */
class MemoryCheckpoints implements LeadsCheckpoints {
  upload: LeadsUpload | null = null;
  afterPart: ((parts: number) => void) | null = null;

  load(): Promise<LeadsUpload | null> {
    return Promise.resolve(this.upload ? structuredClone(this.upload) : null);
  }

  begin(upload: Omit<LeadsUpload, 'parts'>): Promise<void> {
    this.upload = { ...upload, parts: [] };
    return Promise.resolve();
  }

  savePart(part: LeadsUpload['parts'][number]): Promise<void> {
    this.upload!.parts.push(part);
    this.afterPart?.(this.upload!.parts.length);
    return Promise.resolve();
  }

  clear(): Promise<void> {
    this.upload = null;
    return Promise.resolve();
  }
}

function buildLeads(count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    id: `wlead_${String(i).padStart(12, '0')}`,
    workflow_id: 'wfl_resume0000001',
    phone_number: `+1415555${String(i % 10_000).padStart(4, '0')}`,
    status: 'completed',
    current_node_id: 'node_a',
    metadata: { blob: randomBytes(BLOB_BYTES).toString('base64') },
  }));
}

describe('resuming an export in the middle', () => {
  let sim: DialnexaSimulator;
  let config: AppConfig;
  let store: ArchiveStoreClient;
  let dialnexa: DialnexaClient;
  let sut: ArchiveService;
  let s3: S3Client;

  beforeAll(async () => {
    requireS3();
    Logger.overrideLogger(false);
    sim = new DialnexaSimulator({ rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
    await sim.start();
    config = buildConfig({
      DIALNEXA_BASE_URL: sim.url,
      DIALNEXA_API_KEY: DEFAULT_API_KEY,
      DIALNEXA_RATE_BUDGET: 'process',
      ARCHIVE_PART_SIZE_MB: '5',
      ARCHIVE_UPLOAD_BUFFER_MB: '16',
    });
    store = new ArchiveStoreClient(config);
    dialnexa = DialnexaClient.create(config.dialnexa);
    sut = new ArchiveService(store, config);
    s3 = new S3Client({
      region: config.s3.region,
      endpoint: config.s3.endpoint,
      forcePathStyle: config.s3.forcePathStyle,
    });
  });

  afterAll(async () => {
    // ~40 MB that nothing locks: given back to the shared store
    for (const workflowId of workflows) {
      const versions = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: config.s3.bucket,
          Prefix: `${config.archive.prefix}${workflowId}/`,
        }),
      );
      for (const v of versions.Versions ?? []) {
        await s3.send(
          new DeleteObjectCommand({ Bucket: config.s3.bucket, Key: v.Key, VersionId: v.VersionId }),
        );
      }
    }
    await dialnexa?.close();
    store?.onApplicationShutdown();
    s3?.destroy();
    await sim?.stop();
  });

  const workflows: string[] = [];

  function addWorkflow(leads: Array<Record<string, unknown>>): string {
    const id = `wfl_${randomBytes(6).toString('hex')}`;
    workflows.push(id);
    return sim.addServedWorkflow({
      workflow: { id, name: 'resume', status: 'active' },
      nodes: [{ id: 'node_a', node_type: 'VOICE_CALL' }],
      edges: [],
      leads: leads.map((lead) => ({ ...lead, workflow_id: id })),
    });
  }

  /** One attempt of the export, as the runner builds it; `signal` stops it as a crash would. */
  async function exportOnce(
    target: ArchiveTarget,
    checkpoints: LeadsCheckpoints,
    signal?: AbortSignal,
  ): Promise<ReturnType<ArchiveService['export']>> {
    let collector: LeadCollector | null = null;
    const open = resumableLeads(
      (firstPage) => dialnexa.pages(target.workflowId, 'leads', { firstPage, signal }),
      (listing) => (collector = listing),
    );
    const fence: WriteFence = { check: () => Promise.resolve(), signal };
    return sut.export(
      target,
      {
        workflow: { id: target.workflowId },
        nodes: [],
        edges: [],
        resumable: { open, checkpoints },
        leadsTotalReported: () => collector?.totalReported ?? null,
      },
      () => {},
      'export',
      null,
      fence,
    );
  }

  async function leadsOf(ref: Awaited<ReturnType<ArchiveService['export']>>): Promise<Buffer> {
    const object = ref.objects.find((o) => o.key.endsWith('/leads.ndjson.gz'))!;
    const out = await s3.send(
      new GetObjectCommand({
        Bucket: config.s3.bucket,
        Key: object.key,
        VersionId: object.versionId ?? undefined,
      }),
    );
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  const leadPagesRequested = (workflowId: string) =>
    sim.requests
      .filter((r) => r.path === `/v1/workflows/${workflowId}/leads` && r.status === 200)
      .map((r) => Number(r.query['page']));

  it('goes on after the last recorded part, without listing its pages again, and writes what an export never stopped writes', async () => {
    const workflowId = addWorkflow(buildLeads(LEADS));
    const target = { teardownId: newTeardownId(), workflowId };
    const checkpoints = new MemoryCheckpoints();
    const crash = new AbortController();
    checkpoints.afterPart = (parts) => {
      if (parts === 2) crash.abort(new Error('killed after two parts'));
    };

    await expect(exportOnce(target, checkpoints, crash.signal)).rejects.toBeDefined();
    const recorded = checkpoints.upload!;
    expect(recorded.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    const resumeAt = recorded.parts[1]!.lastPage + 1;
    expect(recorded.parts[1]!.firstPage).toBe(recorded.parts[0]!.lastPage + 1);

    sim.clearRequests();
    checkpoints.afterPart = null;
    const resumed = await exportOnce(target, checkpoints);

    const pages = leadPagesRequested(workflowId);
    expect(Math.min(...pages)).toBe(resumeAt); // not one page of the two recorded parts again
    expect(pages).toHaveLength(Math.ceil(LEADS / 100) - resumeAt + 1);
    expect(checkpoints.upload).toBeNull(); // completed: nothing left to resume
    await expect(sut.verify(resumed)).resolves.toMatchObject({ counts: { leads: LEADS } });

    // the same export, never stopped
    const whole = await exportOnce({ teardownId: newTeardownId(), workflowId }, new MemoryCheckpoints());
    expect(resumed.leadsDigest).toBe(whole.leadsDigest);
    const [a, b] = [await leadsOf(resumed), await leadsOf(whole)];
    expect(gunzipSync(a).equals(gunzipSync(b))).toBe(true); // gunzip reads every member
    expect(a.equals(b)).toBe(true); // parts cut at the same pages: the very same bytes
  }, 120_000);

  it('starts again from page 1 in a new upload when the recorded upload is gone', async () => {
    const workflowId = addWorkflow(buildLeads(3_000));
    const target = { teardownId: newTeardownId(), workflowId };
    const checkpoints = new MemoryCheckpoints();
    const crash = new AbortController();
    checkpoints.afterPart = () => crash.abort(new Error('killed after one part'));
    await expect(exportOnce(target, checkpoints, crash.signal)).rejects.toBeDefined();
    const gone = checkpoints.upload!;
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: config.s3.bucket, Key: gone.key, UploadId: gone.uploadId }),
    );

    sim.clearRequests();
    checkpoints.afterPart = null;
    const ref = await exportOnce(target, checkpoints);

    expect(Math.min(...leadPagesRequested(workflowId))).toBe(1);
    await expect(sut.verify(ref)).resolves.toMatchObject({ counts: { leads: 3_000 } });
  }, 120_000);

  it('starts again from page 1 when DialNexa lists fewer leads than when the last part was recorded', async () => {
    const workflowId = addWorkflow(buildLeads(3_000));
    const target = { teardownId: newTeardownId(), workflowId };
    const checkpoints = new MemoryCheckpoints();
    const crash = new AbortController();
    checkpoints.afterPart = () => crash.abort(new Error('killed after one part'));
    await expect(exportOnce(target, checkpoints, crash.signal)).rejects.toBeDefined();
    // as if leads were removed upstream since: pages after the part may have shifted under it
    checkpoints.upload!.parts[0]!.leadsTotalReported = 3_050;
    const { key, uploadId } = checkpoints.upload!;
    checkpoints.afterPart = null;

    await expect(exportOnce(target, checkpoints)).rejects.toMatchObject({
      code: 'ARCHIVE_INCOMPLETE',
      retryable: true,
      message: expect.stringContaining('starts again from page 1'),
    });
    expect(checkpoints.upload).toBeNull();
    await expect(store.listParts(key, uploadId)).resolves.toBeNull(); // the upload was aborted

    sim.clearRequests();
    const ref = await exportOnce(target, checkpoints);
    expect(Math.min(...leadPagesRequested(workflowId))).toBe(1);
    await expect(sut.verify(ref)).resolves.toMatchObject({ counts: { leads: 3_000 } });
  }, 120_000);
});
