import { BlockList, isIP } from 'node:net';

/**
 * The reverse proxies whose word is believed (CONSOLE_TRUSTED_PROXIES): their SSO header names the
 * person, their X-Forwarded-Proto says whether the browser came over HTTPS. Matched on the TCP
 * peer's address, never on a forwarded one (that is what a client could forge).
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits] = entry.split('/');
      const type = isIP(address!) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(address!, type);
      else this.list.addSubnet(address!, Number(bits), type);
    }
    this.empty = entries.length === 0;
  }

  /** True when `address` (a socket's remote address, possibly IPv4-mapped IPv6) is a trusted proxy. */
  contains(address: string | undefined): boolean {
    if (!address || this.empty) return false;
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
    const plain = mapped ? mapped[1]! : address;
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }
}
