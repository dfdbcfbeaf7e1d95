import { describe, expect, it } from '@jest/globals';
import { archiveCheckText, relativeFile } from './archive-check.js';

const manifest = { workflowId: 'wfl_m3v7zb9rk2px', teardownId: 'td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M' };
const dir = 'teardowns/wfl_m3v7zb9rk2px/td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M/';

describe(relativeFile.name, () => {
  it("names an object's file after its archive's folder, keeping final/", () => {
    expect(relativeFile(manifest, `${dir}leads.ndjson.gz`)).toBe('leads.ndjson.gz');
    expect(relativeFile(manifest, `${dir}final/leads.ndjson.gz`, 'final/manifest.json')).toBe(
      'final/leads.ndjson.gz',
    );
  });

  it.each([
    ['outside the archive', 'teardowns/wfl_other/td_x/workflow.json'],
    ['climbing out', `${dir}../../../etc/passwd`],
    ['not normalized', `${dir}final//../workflow.json`],
    ['over the manifest', `${dir}manifest.json`],
    ['over the final manifest', `${dir}final/manifest.json`],
    ['the folder itself', dir],
  ])('refuses a key %s', (_case, key) => {
    expect(() => relativeFile(manifest, key)).toThrow(/names an object outside its archive/);
  });
});

describe(archiveCheckText.name, () => {
  it('names every bad object and its problems, and the verdict', () => {
    const sut = archiveCheckText({
      ok: false,
      dir: '/tmp/archive',
      teardownId: manifest.teardownId,
      workflowId: manifest.workflowId,
      manifests: [
        { file: 'manifest.json', sha256: 'a'.repeat(64), expectedSha256: 'a'.repeat(64), problems: [] },
      ],
      objects: [
        {
          key: `${dir}nodes.json`,
          file: 'nodes.json',
          bytes: 10,
          sha256: 'b'.repeat(64),
          records: 2,
          problems: [],
        },
        {
          key: `${dir}leads.ndjson.gz`,
          file: 'leads.ndjson.gz',
          bytes: 12,
          sha256: 'c'.repeat(64),
          records: 3,
          problems: ['3 records, the manifest says 4'],
        },
      ],
    });

    expect(sut.split('\n')).toEqual([
      `ok   manifest.json  sha256 ${'a'.repeat(64)} as the service recorded`,
      'ok   nodes.json  10 B, 2 records',
      'BAD  leads.ndjson.gz  12 B, 3 records: 3 records, the manifest says 4',
      `archive of ${manifest.teardownId} FAILED verification (/tmp/archive)`,
    ]);
  });
});
