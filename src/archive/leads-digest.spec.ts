import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { LeadsDigest } from './leads-digest.js';

/** The digest as first defined: a BigInt sum of the lines' SHA-256, modulo 2^256. */
function reference(lines: Uint8Array[]): string {
  let sum = 0n;
  for (const line of lines) {
    sum = (sum + BigInt(`0x${createHash('sha256').update(line).digest('hex')}`)) & ((1n << 256n) - 1n);
  }
  return sum.toString(16).padStart(64, '0');
}

function digestOf(lines: Uint8Array[]): string {
  const sut = new LeadsDigest();
  for (const line of lines) sut.addLine(line);
  return sut.hex();
}

describe(LeadsDigest.name, () => {
  it('is the BigInt sum of the lines’ SHA-256 modulo 2^256, as earlier versions computed it', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 40 }), (lines) => {
        expect(digestOf(lines)).toBe(reference(lines));
      }),
      { numRuns: 300 },
    );
  });

  it('carries across every lane and wraps past 2^256', () => {
    const sut = new LeadsDigest();
    const max = new Uint8Array(32).fill(0xff);
    const one = new Uint8Array(32);
    one[31] = 1;
    sut.addSha256(max);
    expect(sut.hex()).toBe('f'.repeat(64));
    sut.addSha256(one);
    expect(sut.hex()).toBe('0'.repeat(64));
    sut.addSha256(max);
    sut.addSha256(max);
    expect(sut.hex()).toBe(`${'f'.repeat(63)}e`);
  });

  it('does not depend on the order of the lines', () => {
    const lines = ['{"id":"a"}\n', '{"id":"b"}\n', '{"id":"c"}\n'].map((l) => Buffer.from(l));
    expect(digestOf(lines)).toBe(digestOf([...lines].reverse()));
    expect(digestOf([])).toBe('0'.repeat(64));
  });
});

describe('LeadsDigest.fromHex', () => {
  it('goes on with the sum a checkpoint wrote: the same digest as one that never stopped', () => {
    const lines = Array.from({ length: 50 }, (_, i) => Buffer.from(`{"id":"wlead_${i}"}\n`));
    const whole = new LeadsDigest();
    lines.forEach((line) => whole.addLine(line));
    const first = new LeadsDigest();
    lines.slice(0, 20).forEach((line) => first.addLine(line));

    const sut = LeadsDigest.fromHex(first.hex());
    lines.slice(20).forEach((line) => sut.addLine(line));

    expect(sut.hex()).toBe(whole.hex());
  });

  it('refuses what is not a digest', () => {
    expect(() => LeadsDigest.fromHex('xyz')).toThrow(RangeError);
  });
});
