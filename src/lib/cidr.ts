import { BlockList, isIP } from 'node:net';

/** A parsed CIDR block; a bare address is a /32 (IPv4) or /128 (IPv6). */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address; returns an error text when invalid. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return `"${text}" is not an IP address or CIDR block`;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (slash === -1) return { address, prefix: max, family };
  const prefixText = text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `"${text}" has an invalid prefix length (0-${max})`;
  return { address, prefix, family };
}

/**
 * Strips the IPv4-mapped IPv6 prefix (`::ffff:10.0.0.1` → `10.0.0.1`) so that a dual-stack
 * socket's peer address matches IPv4 CIDRs the admin wrote.
 */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** Builds a matcher for a list of already-validated CIDR strings; an empty list matches nothing. */
export function createCidrMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') throw new TypeError(cidr);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return (ip) => {
    const address = normalizeIp(ip);
    const version = isIP(address);
    if (version === 0) return false;
    return list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}
