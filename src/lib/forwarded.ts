import { canonicalIp } from './cidr.js';

/**
 * The client address when it cannot be known: the peer gave no address, or a trusted proxy's
 * `X-Forwarded-For` entry is not one (`unknown`, an obfuscated name, garbage). It is no IP
 * address, so it lies in no CIDR block: it matches no `ip` allow condition, and an `ip` deny
 * rule treats it as inside its blocks (fail closed: see policy/conditions/ip.ts).
 */
export const UNKNOWN_CLIENT = 'unknown';

/**
 * One `X-Forwarded-For` entry as an address: a bare IPv4 or IPv6 address, or one with a port as
 * some proxies write it (`203.0.113.9:5555`, `[2001:db8::1]:443`, `[2001:db8::1]`). Undefined
 * for anything else. A bare IPv6 address is never read as having a port (it has no brackets).
 */
export function parseForwardedAddress(entry: string): string | undefined {
  const text = entry.trim();
  if (text.startsWith('[')) {
    // Brackets hold an IPv6 address (`[10.0.0.1]` is none), optionally followed by a port.
    const end = text.indexOf(']');
    const inside = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (end === -1 || !inside.includes(':') || !(rest === '' || /^:\d{1,5}$/.test(rest)))
      return undefined;
    return canonicalIp(inside);
  }
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text);
  return canonicalIp(withPort === null ? text : withPort[1]!);
}

/**
 * The client address, canonical (cidr.ts `canonicalIp`): the TCP peer, unless the peer is a
 * trusted proxy, in which case X-Forwarded-For is walked from the right, skipping trusted
 * proxies, and the first address not trusted is the client. Entries left of that are
 * client-controlled and never used. An entry that is no address on the way makes the client
 * `UNKNOWN_CLIENT`: the proxy that wrote it is not the client, and falling back to it would
 * let an `ip` allow rule written for the proxies' network admit anyone.
 */
export function resolveClientIp(
  peer: string,
  forwardedFor: string | string[] | undefined,
  isTrusted: (ip: string) => boolean,
): string {
  const peerIp = canonicalIp(peer);
  if (peerIp === undefined) return UNKNOWN_CLIENT;
  if (forwardedFor === undefined || !isTrusted(peerIp)) return peerIp;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let client = peerIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseForwardedAddress(hops[i]!);
    if (hop === undefined) return UNKNOWN_CLIENT;
    client = hop;
    if (!isTrusted(hop)) break;
  }
  return client;
}

/** https when the socket is TLS, or when a trusted proxy says so in X-Forwarded-Proto. */
export function resolveScheme(
  encrypted: boolean,
  peerTrusted: boolean,
  forwardedProto: string | string[] | undefined,
): 'http' | 'https' {
  if (encrypted) return 'https';
  if (!peerTrusted || typeof forwardedProto !== 'string') return 'http';
  const first = forwardedProto.split(',')[0]!.trim().toLowerCase();
  return first === 'https' ? 'https' : 'http';
}
