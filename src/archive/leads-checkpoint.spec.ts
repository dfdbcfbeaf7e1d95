import type { UploadedPart } from './archive-store.client.js';
import { type LeadsPartRecord, type LeadsUpload, planResume, resumePoint } from './leads-checkpoint.js';

const KEY = 'teardowns/wfl_1/td_1/leads.ndjson.gz';

function buildPart(overrides: Partial<LeadsPartRecord> = {}): LeadsPartRecord {
  const partNumber = overrides.partNumber ?? 1;
  return {
    partNumber,
    etag: `"etag-${partNumber}"`,
    bytes: 5_300_000,
    leads: 4_000,
    firstPage: (partNumber - 1) * 40 + 1,
    lastPage: partNumber * 40,
    sha256State: Buffer.from('state'),
    leadsDigest: '0'.repeat(64),
    fingerprints: Buffer.alloc(8),
    leadsTotalReported: 12_000,
    ...overrides,
  };
}

function buildUpload(parts: LeadsPartRecord[]): LeadsUpload {
  return { key: KEY, uploadId: 'upload-1', seeds: [1, 2], parts };
}

const onStore = (parts: LeadsPartRecord[]): UploadedPart[] =>
  parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag, bytes: p.bytes }));

describe('planResume', () => {
  const parts = [buildPart({ partNumber: 1 }), buildPart({ partNumber: 2 }), buildPart({ partNumber: 3 })];

  it('starts fresh when nothing was recorded', () => {
    expect(planResume(null, KEY, null)).toEqual({ kind: 'fresh', reason: null });
  });

  it('starts fresh, saying why, when the upload is gone', () => {
    expect(planResume(buildUpload(parts), KEY, null)).toEqual({
      kind: 'fresh',
      reason: 'upload upload-1 is gone (aborted or expired)',
    });
  });

  it('goes on after every recorded part the store holds', () => {
    const plan = planResume(buildUpload(parts), KEY, onStore(parts));

    expect(plan).toMatchObject({ kind: 'resume', dropped: 0 });
    expect(plan.kind === 'resume' && plan.upload.parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect(resumePoint(parts)).toEqual({ nextPage: 121, nextPart: 4, leads: 12_000, bytes: 15_900_000 });
  });

  it('ignores a part the store holds that was never recorded: it is sent again', () => {
    const stored = [...onStore(parts), { partNumber: 4, etag: '"etag-4"', bytes: 5_300_000 }];

    const plan = planResume(buildUpload(parts), KEY, stored);

    expect(plan.kind === 'resume' && plan.upload.parts).toHaveLength(3);
  });

  it('stops at the first recorded part the store does not hold as recorded', () => {
    const stored = onStore(parts).map((p) => (p.partNumber === 2 ? { ...p, etag: '"other"' } : p));

    const plan = planResume(buildUpload(parts), KEY, stored);

    expect(plan).toMatchObject({ kind: 'resume', dropped: 2 });
    expect(plan.kind === 'resume' && plan.upload.parts.map((p) => p.partNumber)).toEqual([1]);
    expect(resumePoint(plan.kind === 'resume' ? plan.upload.parts : []).nextPage).toBe(41);
  });

  it('keeps no part after a gap in the part numbers or the pages', () => {
    const gap = [buildPart({ partNumber: 1 }), buildPart({ partNumber: 3 })];
    const shifted = [buildPart({ partNumber: 1 }), buildPart({ partNumber: 2, firstPage: 45 })];

    const byNumber = planResume(buildUpload(gap), KEY, onStore(gap));
    const byPage = planResume(buildUpload(shifted), KEY, onStore(shifted));

    expect(byNumber.kind === 'resume' && byNumber.upload.parts).toHaveLength(1);
    expect(byPage.kind === 'resume' && byPage.upload.parts).toHaveLength(1);
  });

  it('resumes from page 1 on the same upload when no recorded part is held', () => {
    const plan = planResume(buildUpload(parts), KEY, []);

    expect(plan).toMatchObject({ kind: 'resume', dropped: 3, upload: { uploadId: 'upload-1', parts: [] } });
    expect(resumePoint([])).toEqual({ nextPage: 1, nextPart: 1, leads: 0, bytes: 0 });
  });
});
