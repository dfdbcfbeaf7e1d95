import { randomInt } from 'node:crypto';

/** What LeadCollector needs of a set of lead ids. */
export interface IdSet {
  /** Adds `id`; false when it (or, for a fingerprint set, an id with its fingerprint) was there. */
  add(id: string): boolean;
  readonly size: number;
  /** Makes room for `expected` ids at once (a hint; the set grows by itself anyway). */
  reserve(expected: number): void;
}

/** Past this share of occupied slots the table doubles: probes stay short with linear probing. */
const MAX_LOAD = 0.75;
const MIN_SLOTS = 1024;
/** `reserve` trusts an upstream count up to here (16 MiB of table); past it the table grows as ids come. */
const MAX_RESERVED = 1 << 20;

/**
 * The ids seen, kept as 64-bit fingerprints in an open-addressing table of `Uint32Array` pairs
 * (linear probing, doubling past a load of 3/4), so memory stays flat however many leads pass:
 * 8 bytes per slot, 11 to 21 bytes per id, with no object per id for the garbage collector to
 * trace. A million ids take 16 MiB; a `Set<string>` of them took 61 MB of heap, and twice as long
 * to fill (measured on Node 24).
 *
 * A fingerprint is two 32-bit MurmurHash3 of the id's UTF-16 code units, under two seeds drawn at
 * random for each set. Two distinct ids share one with a probability of about n²/2^65 (3·10^-8
 * for a million leads): the second would be taken for a duplicate and left out. That cannot make
 * a silently short archive on its own: the collector then counts fewer distinct leads than the
 * `meta.total` DialNexa reported and fails the export retryably with ARCHIVE_INCOMPLETE, and the
 * retry draws new seeds. (Only a lead that also appeared while the listing ran, offsetting the
 * count, could hide it; the same holds for a lead skipped by live paging, which the count check
 * was always limited to.) DialNexa mints the ids, so nobody chooses them to collide.
 */
export class LeadIdSet implements IdSet {
  private slots: Uint32Array;
  private mask: number;
  private limit: number;
  private count = 0;
  private readonly seedHigh: number;
  private readonly seedLow: number;
  /** The fingerprints added since the last `takeAdded`, as (high, low) pairs; null unless journaling. */
  private added: Uint32Array | null = null;
  private addedCount = 0;

  /** `seeds` for tests; each set draws its own otherwise. */
  constructor(seeds: readonly [number, number] = [randomInt(2 ** 32), randomInt(2 ** 32)]) {
    [this.seedHigh, this.seedLow] = seeds;
    this.slots = new Uint32Array(MIN_SLOTS * 2);
    this.mask = MIN_SLOTS - 1;
    this.limit = Math.floor(MIN_SLOTS * MAX_LOAD);
  }

  get size(): number {
    return this.count;
  }

  /** The two seeds of the fingerprints: a restored set must be built with the same ones. */
  get seeds(): [number, number] {
    return [this.seedHigh, this.seedLow];
  }

  /**
   * From now on keeps the fingerprints that `add` admits, for `takeAdded`: what a checkpoint
   * persists of the set (8 bytes an id) so that a resumed export can rebuild it.
   */
  journal(): void {
    this.added ??= new Uint32Array(2 * 1024);
  }

  /** The fingerprints admitted since the last call, as big-endian (high, low) pairs of bytes. */
  takeAdded(): Buffer {
    const pairs = this.added?.subarray(0, 2 * this.addedCount) ?? new Uint32Array(0);
    const out = Buffer.allocUnsafe(pairs.length * 4);
    for (let i = 0; i < pairs.length; i++) out.writeUInt32BE(pairs[i]!, i * 4);
    this.addedCount = 0;
    return out;
  }

  /** Adds fingerprints as `takeAdded` gave them (under this set's seeds); false if one was there. */
  restore(fingerprints: Uint8Array): boolean {
    if (fingerprints.length % 8 !== 0) throw new RangeError('fingerprints come in 8-byte pairs');
    const bytes = Buffer.from(fingerprints.buffer, fingerprints.byteOffset, fingerprints.length);
    let distinct = true;
    for (let i = 0; i < bytes.length; i += 8) {
      if (this.count >= this.limit) this.resize((this.mask + 1) * 2);
      distinct = this.insert(bytes.readUInt32BE(i), bytes.readUInt32BE(i + 4)) && distinct;
    }
    return distinct;
  }

  /** Memory held by the table. */
  get bytes(): number {
    return this.slots.byteLength;
  }

  reserve(expected: number): void {
    const slots = slotsFor(Math.min(expected, MAX_RESERVED));
    if (slots > this.mask + 1) this.resize(slots);
  }

  add(id: string): boolean {
    const high = murmur3(id, this.seedHigh);
    let low = murmur3(id, this.seedLow);
    if (high === 0 && low === 0) low = 1; // (0, 0) marks an empty slot
    if (this.count >= this.limit) this.resize((this.mask + 1) * 2);
    const admitted = this.insert(high, low);
    if (admitted && this.added) this.keep(high, low);
    return admitted;
  }

  private keep(high: number, low: number): void {
    let added = this.added!;
    if (2 * this.addedCount + 2 > added.length) {
      const grown = new Uint32Array(added.length * 2);
      grown.set(added);
      this.added = added = grown;
    }
    added[2 * this.addedCount] = high;
    added[2 * this.addedCount + 1] = low;
    this.addedCount += 1;
  }

  private insert(high: number, low: number): boolean {
    const slots = this.slots;
    for (let i = low & this.mask; ; i = (i + 1) & this.mask) {
      const h = slots[2 * i]!;
      const l = slots[2 * i + 1]!;
      if (h === 0 && l === 0) {
        slots[2 * i] = high;
        slots[2 * i + 1] = low;
        this.count += 1;
        return true;
      }
      if (h === high && l === low) return false;
    }
  }

  private resize(slots: number): void {
    const old = this.slots;
    this.slots = new Uint32Array(slots * 2);
    this.mask = slots - 1;
    this.limit = Math.floor(slots * MAX_LOAD);
    this.count = 0;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) this.insert(old[i]!, old[i + 1]!);
    }
  }
}

/** The power of two of slots that holds `expected` ids under the maximum load. */
function slotsFor(expected: number): number {
  let slots = MIN_SLOTS;
  while (slots * MAX_LOAD < expected) slots *= 2;
  return slots;
}

/** MurmurHash3 (x86, 32-bit) of the string's UTF-16 code units, two to a 32-bit block. */
export function murmur3(text: string, seed: number): number {
  let h = seed | 0;
  const n = text.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= n * 2; // the length in bytes, as MurmurHash3 mixes it in
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
