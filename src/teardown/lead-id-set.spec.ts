import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { LeadIdSet, murmur3 } from './lead-id-set.js';

/** MurmurHash3_x86_32 as published, over bytes: the reference the string version must match. */
function referenceMurmur3(bytes: Buffer, seed: number): number {
  let h = seed | 0;
  const blocks = bytes.length >> 2;
  const mix = (k: number) => {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    return Math.imul(k, 0x1b873593);
  };
  for (let i = 0; i < blocks; i++) {
    h ^= mix(bytes.readInt32LE(i * 4));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    for (let j = rest - 1; j >= 0; j--) k = (k << 8) | bytes[tail + j]!;
    h ^= mix(k);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const SEEDS = [0x9747b28c, 0x5082edee] as const;

describe(LeadIdSet.name, () => {
  it('fingerprints with MurmurHash3 of the UTF-16 code units, lone surrogates included', () => {
    expect(murmur3('', 0)).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('\u4321\u8765', 0)).toBe(0xf55b516b); // the bytes 21 43 65 87
    expect(murmur3('\u4321\u8765', 0x5082edee)).toBe(0x2362f9de);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer(), (id, seed) => {
        expect(murmur3(id, seed)).toBe(referenceMurmur3(Buffer.from(id, 'utf16le'), seed));
      }),
      { numRuns: 500 },
    );
  });

  it('answers as a Set<string> does, for ids with many repeats', () => {
    const ids = fc.array(
      fc.oneof(fc.constantFrom('wlead_a', 'wlead_b', 'wlead_c', ''), fc.string({ unit: 'binary' })),
      { maxLength: 300 },
    );
    fc.assert(
      fc.property(ids, (list) => {
        const sut = new LeadIdSet();
        const reference = new Set<string>();
        for (const id of list) {
          const isNew = !reference.has(id);
          reference.add(id);
          expect(sut.add(id)).toBe(isNew);
        }
        expect(sut.size).toBe(reference.size);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every id as it grows, at 11 to 21 bytes an id', () => {
    const sut = new LeadIdSet(SEEDS);
    const id = (i: number) => `wlead_${i.toString(36).padStart(12, '0')}`;
    let added = 0;
    let repeated = 0;
    for (let i = 0; i < 50_000; i++) if (sut.add(id(i))) added += 1;
    for (let i = 0; i < 50_000; i += 97) if (!sut.add(id(i))) repeated += 1;

    expect(added).toBe(50_000);
    expect(repeated).toBe(Math.ceil(50_000 / 97));
    expect(sut.size).toBe(50_000);
    expect(sut.bytes / sut.size).toBeGreaterThanOrEqual(8 / 0.75);
    expect(sut.bytes / sut.size).toBeLessThanOrEqual(16 / 0.75);
  });

  it('makes room for a reported total at once, trusting it only up to a million ids', () => {
    const sut = new LeadIdSet();
    sut.reserve(1_000_000);
    expect(sut.bytes).toBe(16 * 1024 * 1024);
    sut.reserve(100);
    expect(sut.bytes).toBe(16 * 1024 * 1024);

    const bogus = new LeadIdSet();
    bogus.reserve(1e15);
    bogus.reserve(Number.POSITIVE_INFINITY);
    expect(bogus.bytes).toBe(16 * 1024 * 1024);
  });

  it('tells ids apart by their fingerprint: a same-seeded set answers the same', () => {
    const a = new LeadIdSet(SEEDS);
    const b = new LeadIdSet(SEEDS);
    for (const id of ['wlead_1', 'wlead_2', 'wlead_1']) expect(a.add(id)).toBe(b.add(id));
  });
});

describe('LeadIdSet journal and restore', () => {
  it('rebuilds, from the fingerprints it journaled, a set that knows every id seen before', () => {
    const sut = new LeadIdSet([7, 11]);
    sut.journal();
    const ids = Array.from({ length: 3_000 }, (_, i) => `wlead_${i}`);
    ids.slice(0, 1_000).forEach((id) => sut.add(id));
    const first = sut.takeAdded();
    ids.slice(1_000, 2_000).forEach((id) => sut.add(id));
    sut.add('wlead_5'); // a duplicate is not journaled
    const second = sut.takeAdded();

    const restored = new LeadIdSet(sut.seeds);
    expect(restored.restore(first)).toBe(true);
    expect(restored.restore(second)).toBe(true);

    expect([first.length, second.length]).toEqual([8_000, 8_000]);
    expect(restored.size).toBe(2_000);
    expect(ids.slice(0, 2_000).some((id) => restored.add(id))).toBe(false);
    expect(ids.slice(2_000).every((id) => restored.add(id))).toBe(true);
  });

  it('journals nothing until asked to', () => {
    const sut = new LeadIdSet();
    sut.add('wlead_1');

    expect(sut.takeAdded()).toHaveLength(0);
  });
});
