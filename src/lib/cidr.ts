import { isIP } from 'node:net';

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

/** An IPv4-mapped IPv6 address (`::ffff:0:0/96`): the first 80 bits zero, then 16 ones. */
function isMappedIPv4(words: Uint16Array): boolean {
  return words.subarray(0, 5).every((w) => w === 0) && words[5] === 0xffff;
}

function dottedQuad(high: number, low: number): string {
  return `${high >>> 8}.${high & 0xff}.${low >>> 8}.${low & 0xff}`;
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run of zero words as `::`. */
function formatIPv6(words: Uint16Array): string {
  let bestStart = -1;
  let bestLength = 1; // a single zero word is not compressed
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number) =>
    Array.from(words.subarray(from, to), (w) => w.toString(16)).join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/**
 * One spelling per address, so that the policy, the trusted-proxy lists, the rate limiter and
 * the audit line all see the same text: an IPv4-mapped IPv6 address in any spelling
 * (`::ffff:10.0.0.1`, `::FFFF:a00:1`, `0:0:0:0:0:ffff:10.0.0.1`) becomes the IPv4 address a
 * dual-stack socket means by it, and any other IPv6 address its RFC 5952 form. Undefined for
 * anything that is not an IP address (no port, no brackets).
 */
export function canonicalIp(text: string): string | undefined {
  const version = isIP(text);
  if (version === 4) return text;
  if (version !== 6) return undefined;
  // A zone (`fe80::1%eth0`) names a local interface: keep it, but never read it as mapped.
  if (text.includes('%')) return text.toLowerCase();
  const words = parseIPv6(text)!;
  return isMappedIPv4(words) ? dottedQuad(words[6]!, words[7]!) : formatIPv6(words);
}

/** `canonicalIp`, leaving text that is no IP address as it is (for callers that refuse it later). */
export function normalizeIp(ip: string): string {
  return canonicalIp(ip) ?? ip;
}

/** Dotted-quad IPv4 → unsigned 32-bit integer; undefined for anything else. */
export function parseIPv4(ip: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      // No leading zeros (`010` is octal to some parsers): refuse the ambiguity.
      if (digits > 0 && part === 0) return undefined;
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + part;
}

/** IPv6 text → eight 16-bit words (with `::` and a trailing dotted quad); undefined if invalid. */
export function parseIPv6(ip: string): Uint16Array | undefined {
  if (isIP(ip) !== 6) return undefined;
  const words = new Uint16Array(8);
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const toWords = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = parseIPv4(piece)!;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const first = toWords(head!);
  const last = tail === undefined ? [] : toWords(tail);
  first.forEach((w, i) => (words[i] = w));
  last.forEach((w, i) => (words[8 - last.length + i] = w));
  return words;
}

interface V4Block {
  readonly network: number;
  readonly mask: number;
}

interface V6Block {
  readonly words: Uint16Array;
  readonly prefix: number;
}

function v6Matches(address: Uint16Array, block: V6Block): boolean {
  let left = block.prefix;
  for (let i = 0; i < 8 && left > 0; i++, left -= 16) {
    const bits = Math.min(16, left);
    const mask = (0xffff << (16 - bits)) & 0xffff;
    if ((address[i]! & mask) !== (block.words[i]! & mask)) return false;
  }
  return true;
}

/**
 * Builds a matcher for a list of already-validated CIDR strings; an empty list matches
 * nothing. Pure integer arithmetic: it runs on every request that has an `ip` condition, and
 * node's BlockList allocates a SocketAddress per check (a quarter of a policy evaluation).
 */
export function createCidrMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  const v4: V4Block[] = [];
  const v6: V6Block[] = [];
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') throw new TypeError(cidr);
    const words = cidr.family === 'ipv6' ? parseIPv6(cidr.address)! : undefined;
    if (words === undefined || (isMappedIPv4(words) && cidr.prefix >= 96)) {
      // IPv4, or an IPv4-mapped block (`::ffff:10.0.0.0/104` is 10.0.0.0/8): addresses are
      // matched as IPv4 once normalized, so the block must be IPv4 too.
      const prefix = words === undefined ? cidr.prefix : cidr.prefix - 96;
      const network =
        words === undefined ? parseIPv4(cidr.address)! : words[6]! * 0x10000 + words[7]!;
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      v4.push({ network: (network & mask) >>> 0, mask });
    } else {
      v6.push({ words, prefix: cidr.prefix });
    }
  }
  if (v4.length === 0 && v6.length === 0) return () => false;
  const matchesV4 = (value: number): boolean => {
    for (const block of v4) if ((value & block.mask) >>> 0 === block.network) return true;
    return false;
  };
  return (ip) => {
    const value = parseIPv4(ip);
    if (value !== undefined) return matchesV4(value);
    const words = parseIPv6(ip);
    if (words === undefined) return false;
    // An IPv4-mapped address, in any spelling, is the IPv4 client it stands for.
    if (isMappedIPv4(words)) return matchesV4(words[6]! * 0x10000 + words[7]!);
    for (const block of v6) if (v6Matches(words, block)) return true;
    return false;
  };
}
