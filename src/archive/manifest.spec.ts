import { describe, expect, it } from '@jest/globals';
import { countsOf, type Manifest, manifestKey, parseManifest, serializeManifest } from './manifest.js';

function build(overrides: Partial<Manifest> = {}): Manifest {
  const dir = 'teardowns/wfl_abc/td_01/';
  return {
    formatVersion: 1,
    teardownId: 'td_01',
    workflowId: 'wfl_abc',
    exportedAt: '2026-11-28T10:00:00.000Z',
    source: { baseUrl: 'https://api.dialnexa.com', apiVersion: 'v1' },
    objects: [
      {
        key: `${dir}workflow.json`,
        bytes: 10,
        sha256: 'a'.repeat(64),
        records: 1,
        contentType: 'application/json',
        versionId: 'v1',
      },
      {
        key: `${dir}nodes.json`,
        bytes: 10,
        sha256: 'b'.repeat(64),
        records: 5,
        contentType: 'application/json',
        versionId: 'v2',
      },
      {
        key: `${dir}edges.json`,
        bytes: 10,
        sha256: 'c'.repeat(64),
        records: 6,
        contentType: 'application/json',
        versionId: null,
      },
      {
        key: `${dir}leads.ndjson.gz`,
        bytes: 10,
        sha256: 'd'.repeat(64),
        records: 420,
        contentType: 'application/gzip',
        versionId: 'v4',
      },
    ],
    leadsTotalReported: 420,
    ...overrides,
  };
}

describe('manifest', () => {
  it('places the manifest under {prefix}{workflowId}/{teardownId}/', () => {
    expect(manifestKey('teardowns/', 'wfl_abc', 'td_01')).toBe('teardowns/wfl_abc/td_01/manifest.json');
  });

  it('round-trips through its serialized bytes, which are stable', () => {
    const sut = build();
    const bytes = serializeManifest(sut);
    expect(parseManifest(bytes)).toEqual(sut);
    expect(serializeManifest(parseManifest(bytes)).equals(bytes)).toBe(true);
  });

  it('counts nodes, edges and leads from the objects', () => {
    expect(countsOf(build())).toEqual({ nodes: 5, edges: 6, leads: 420 });
  });

  it.each([
    ['not JSON', Buffer.from('{nope')],
    ['another format version', serializeManifest({ ...build(), formatVersion: 2 })],
    ['a bad checksum', serializeManifest(build({ objects: [{ ...build().objects[0]!, sha256: 'xyz' }] }))],
    ['no objects', serializeManifest(build({ objects: [] }))],
  ])('refuses %s', (_what, bytes) => {
    expect(() => parseManifest(bytes)).toThrow(/manifest\.json/);
  });
});
