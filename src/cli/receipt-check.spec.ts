import { describe, expect, it } from '@jest/globals';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { ReceiptKeyring } from '../receipts/receipt-signature.js';
import { checkReceiptOffline, checkReceiptOnline, type ReceiptSources } from './receipt-check.js';

const keyring = new ReceiptKeyring(
  generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
);
const MANIFEST = Buffer.from('{"formatVersion":1}\n');
const ANCHOR = { seq: 12, hash: 'c'.repeat(64) };
const EVENTS = [
  { seq: 10, id: 'evt_10', type: 'workflow.deleted', hash: 'a'.repeat(64) },
  { seq: 11, id: 'evt_11', type: 'teardown.completed', hash: 'b'.repeat(64) },
];

function buildReceipt(overrides: Record<string, unknown> = {}) {
  return {
    teardownId: 'td_1',
    workflowId: 'wfl_1',
    archive: {
      manifestKey: 'p/wfl_1/td_1/manifest.json',
      manifestSha256: createHash('sha256').update(MANIFEST).digest('hex'),
      manifestVersionId: 'v1',
    },
    final: null,
    events: EVENTS,
    chain: { headSeq: ANCHOR.seq, headHash: ANCHOR.hash, anchorKey: 'anchors/12.json' },
    ...overrides,
  };
}

/** The bucket and the audit API as the service would answer for `stored` (the receipt in S3). */
function buildSources(stored: Buffer, overrides: Partial<ReceiptSources> = {}): ReceiptSources {
  const objects: Record<string, Buffer> = {
    'url:manifest': MANIFEST,
    'url:anchor': Buffer.from(JSON.stringify(ANCHOR)),
    'url:receipt': stored,
  };
  const lock = { mode: 'COMPLIANCE', retainUntil: '2033-01-01T00:00:00.000Z' };
  return {
    evidence: () =>
      Promise.resolve({
        receipt: { exists: true, url: 'url:receipt' },
        manifests: [
          {
            snapshot: 'export',
            key: 'p/wfl_1/td_1/manifest.json',
            versionId: 'v1',
            exists: true,
            url: 'url:manifest',
            lock,
          },
        ],
        anchor: { key: 'anchors/12.json', exists: true, url: 'url:anchor', lock },
      }),
    events: () => Promise.resolve(EVENTS),
    chainVerifies: () => Promise.resolve({ ok: true, detail: 'ok' }),
    download: (url) => Promise.resolve(objects[url]!),
    ...overrides,
  };
}

async function check(receipt: Record<string, unknown>, sources?: (bytes: Buffer) => ReceiptSources) {
  const bytes = keyring.sign(receipt);
  const { report, receipt: checked } = checkReceiptOffline(bytes, keyring.jwks, 'receipt.json');
  expect(report.ok).toBe(true);
  return checkReceiptOnline(bytes, checked!, (sources ?? buildSources)(bytes));
}

const failed = (online: Awaited<ReturnType<typeof check>>) =>
  online.checks.filter((c) => !c.ok).map((c) => `${c.what}: ${c.detail}`);

describe('checkReceiptOnline', () => {
  it('passes a receipt whose manifest, anchor, events and stored copy all agree', async () => {
    const online = await check(buildReceipt());

    expect(failed(online)).toEqual([]);
    expect(online.checks.map((c) => c.what)).toEqual([
      'export manifest p/wfl_1/td_1/manifest.json',
      'anchor anchors/12.json',
      'anchor covers workflow.deleted',
      '2 events in the audit chain',
      'audit chain verifies against its anchors',
      'receipt.json in the bucket',
    ]);
  });

  it('fails for an event the chain does not hold as listed, and for a copy that differs from the stored one', async () => {
    const forged = buildReceipt({ events: [{ ...EVENTS[0]!, hash: 'f'.repeat(64) }, EVENTS[1]] });
    const stored = keyring.sign(buildReceipt());

    const online = await check(forged, () => buildSources(stored));

    expect(failed(online)).toEqual([
      '2 events in the audit chain: not in the chain as listed: #10 workflow.deleted',
      'receipt.json in the bucket: differs from this file',
    ]);
  });

  it('fails for a manifest whose bytes differ, an anchor holding another head, and a chain that does not verify', async () => {
    const online = await check(buildReceipt(), (bytes) =>
      buildSources(bytes, {
        download: (url) =>
          Promise.resolve(
            url === 'url:manifest'
              ? Buffer.from('{"formatVersion":2}\n')
              : url === 'url:anchor'
                ? Buffer.from(JSON.stringify({ ...ANCHOR, hash: 'd'.repeat(64) }))
                : bytes,
          ),
        chainVerifies: () => Promise.resolve({ ok: false, detail: 'event #3 differs' }),
      }),
    );

    expect(failed(online)).toEqual([
      expect.stringMatching(
        /^export manifest p\/wfl_1\/td_1\/manifest.json: sha256 [0-9a-f]{64} in the bucket/,
      ),
      'anchor anchors/12.json: does not hold the head the receipt names',
      'audit chain verifies against its anchors: event #3 differs',
    ]);
  });
});
