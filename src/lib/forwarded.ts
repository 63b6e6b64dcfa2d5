import { isIP } from 'node:net';
import { normalizeIp } from './cidr.js';

/**
 * The client address: the TCP peer, unless the peer is a trusted proxy, in which case
 * X-Forwarded-For is walked from the right, skipping trusted proxies, and the first address
 * not trusted is the client. Entries left of that are client-controlled and never used.
 */
export function resolveClientIp(
  peer: string,
  forwardedFor: string | string[] | undefined,
  isTrusted: (ip: string) => boolean,
): string {
  const peerIp = normalizeIp(peer);
  if (forwardedFor === undefined || !isTrusted(peerIp)) return peerIp;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let client = peerIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(hops[i]!.trim());
    if (isIP(hop) === 0) break; // garbage: stop at the last address we could vouch for
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
