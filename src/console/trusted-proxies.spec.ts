import { describe, expect, it } from '@jest/globals';
import { TrustedProxies } from './trusted-proxies.js';

describe(TrustedProxies.name, () => {
  it('matches single addresses and CIDRs, IPv4 and IPv6', () => {
    const sut = new TrustedProxies(['10.0.0.7', '192.168.4.0/24', 'fd00::/8', '::1']);

    expect(sut.contains('10.0.0.7')).toBe(true);
    expect(sut.contains('10.0.0.8')).toBe(false);
    expect(sut.contains('192.168.4.200')).toBe(true);
    expect(sut.contains('192.168.5.1')).toBe(false);
    expect(sut.contains('fd12:3456::1')).toBe(true);
    expect(sut.contains('fe80::1')).toBe(false);
    expect(sut.contains('::1')).toBe(true);
  });

  it('reads an IPv4-mapped IPv6 peer (a dual-stack socket) as its IPv4 address', () => {
    const sut = new TrustedProxies(['127.0.0.1']);

    expect(sut.contains('::ffff:127.0.0.1')).toBe(true);
    expect(sut.contains('::ffff:127.0.0.2')).toBe(false);
  });

  it('trusts nobody when empty, and never an unknown or malformed peer', () => {
    expect(new TrustedProxies([]).contains('127.0.0.1')).toBe(false);
    const sut = new TrustedProxies(['0.0.0.0/0']);
    expect(sut.contains(undefined)).toBe(false);
    expect(sut.contains('')).toBe(false);
    expect(sut.contains('not-an-address')).toBe(false);
    expect(sut.contains('203.0.113.9')).toBe(true);
  });
});
