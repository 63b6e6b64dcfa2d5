import { normalizeIp, parseIPv6 } from '../lib/cidr.js';

/** The answer for one request: go ahead, or wait this many seconds. */
export type RateVerdict =
  { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number };

export interface RateLimiterOptions {
  /** Events per minute per client; also the burst a client may spend at once. */
  readonly perMinute: number;
  /** Clients remembered at most; memory stays bounded whatever the number of addresses. */
  readonly maxClients?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Who a rate limit counts against. One IPv6 host usually owns a whole /64, so counting single
 * IPv6 addresses would let one machine rotate through 2^64 of them; IPv4 counts per address.
 */
export function rateLimitKey(ip: string): string {
  const client = normalizeIp(ip);
  const words = parseIPv6(client);
  if (words === undefined) return client;
  return `${Array.from(words.subarray(0, 4), (w) => w.toString(16)).join(':')}::/64`;
}

/**
 * A token bucket per client: each client may spend `perMinute` tokens at once and gets them
 * back at `perMinute` per minute. What spends a token is the caller's choice: the sign-in
 * limit spends one per failed sign-in only (`take`) and asks `check` before each attempt.
 * Per instance: behind N instances a client gets N times the rate at most, which still bounds
 * what a flood costs the IdP and the session store.
 */
export function createRateLimiter(options: RateLimiterOptions) {
  const capacity = options.perMinute;
  const refillPerMs = options.perMinute / 60_000;
  const maxClients = options.maxClients ?? 100_000;
  const buckets = new Map<string, Bucket>();

  function refilled(bucket: Bucket, now: number): number {
    return Math.min(capacity, bucket.tokens + (now - bucket.updatedAt) * refillPerMs);
  }

  /**
   * Makes room, in batches so that a flood of new addresses costs O(1) per request on average:
   * full buckets are dropped (they are the same as none), then, if that freed less than a tenth,
   * the least recently seen clients.
   */
  function evict(now: number): void {
    for (const [key, bucket] of buckets) if (refilled(bucket, now) >= capacity) buckets.delete(key);
    const target = Math.floor(maxClients * 0.9);
    for (const key of buckets.keys()) {
      if (buckets.size <= target) break;
      buckets.delete(key);
    }
  }

  function verdictFor(tokens: number): RateVerdict {
    if (tokens >= 1) return { ok: true };
    const waitMs = (1 - tokens) / refillPerMs;
    return { ok: false, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  return {
    /** Whether the client has a token left, spending none (an unknown client has a full bucket). */
    check(key: string, now: number): RateVerdict {
      const bucket = buckets.get(key);
      return bucket === undefined ? { ok: true } : verdictFor(refilled(bucket, now));
    },
    /** Spends one token when there is one; the verdict says whether there was. */
    take(key: string, now: number): RateVerdict {
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= maxClients) evict(now);
        bucket = { tokens: capacity, updatedAt: now };
      } else {
        buckets.delete(key); // re-inserted below: the map stays ordered by last use
      }
      buckets.set(key, bucket);
      bucket.tokens = refilled(bucket, now);
      bucket.updatedAt = now;
      const verdict = verdictFor(bucket.tokens);
      if (verdict.ok) bucket.tokens -= 1;
      return verdict;
    },
    /** How many clients are remembered (for tests of the memory bound). */
    get size(): number {
      return buckets.size;
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
