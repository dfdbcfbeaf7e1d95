import { isIP } from 'node:net';

/**
 * The network a client's address stands for, to key a per-client budget by: an IPv4 address (also
 * IPv4-mapped) as it is, an IPv6 address as its /64, since one host usually holds a whole /64 and
 * could otherwise take a fresh budget with each of its 2^64 addresses.
 */
export function clientNetworkOf(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const plain = address.replace(/%.*$/, '');
  const family = isIP(plain);
  if (family === 4) return plain;
  if (family !== 6) return 'unknown';
  const [head = '', tail] = plain.toLowerCase().split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const headGroups = groupsOf(head);
  // an embedded IPv4 address (at the end) stands for two groups
  const tailGroups = groupsOf(tail ?? '').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const gap = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const prefix = [...headGroups, ...gap, ...tailGroups].slice(0, 4).map((g) => parseInt(g, 16).toString(16));
  return `${prefix.join(':')}::/64`;
}
