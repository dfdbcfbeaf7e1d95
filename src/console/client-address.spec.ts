import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { clientNetworkOf } from './client-address.js';

describe(clientNetworkOf.name, () => {
  it('keeps an IPv4 address, also when it comes IPv4-mapped from a dual-stack socket', () => {
    expect(clientNetworkOf('203.0.113.7')).toBe('203.0.113.7');
    expect(clientNetworkOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('reduces an IPv6 address to its /64, which one client holds whole, however it is written', () => {
    expect(clientNetworkOf('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientNetworkOf('2001:0db8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(clientNetworkOf('2001:DB8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientNetworkOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientNetworkOf('::1')).toBe('0:0:0:0::/64');
    expect(clientNetworkOf('::1:2:3:4:5:6:7')).toBe('0:1:2:3::/64');
    expect(clientNetworkOf('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
    expect(clientNetworkOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientNetworkOf('2001:db8:1:3::1')).not.toBe(clientNetworkOf('2001:db8:1:2::1'));
  });

  it('gives every address of one /64 one key', () => {
    const hextet = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    fc.assert(
      fc.property(fc.array(hextet, { minLength: 4, maxLength: 4 }), (tail) => {
        expect(clientNetworkOf(`2001:db8:aa:bb:${tail.join(':')}`)).toBe('2001:db8:aa:bb::/64');
      }),
    );
  });

  it('says "unknown" for what is not an address', () => {
    expect(clientNetworkOf(undefined)).toBe('unknown');
    expect(clientNetworkOf('not an address')).toBe('unknown');
  });
});
