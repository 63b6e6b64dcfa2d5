import { describe, expect, test } from '@jest/globals';
import { createRateLimiter, rateLimitKey } from './rate-limiter.js';

describe('sign-in rate limiter', () => {
  test('a client may spend its burst at once, then waits for tokens to come back', () => {
    const limiter = createRateLimiter({ perMinute: 3 });
    const t0 = 1_000_000;
    expect([1, 2, 3].map(() => limiter.take('10.0.0.1', t0).ok)).toEqual([true, true, true]);
    expect(limiter.take('10.0.0.1', t0)).toEqual({ ok: false, retryAfterS: 20 });
    // One token every 20 s.
    expect(limiter.take('10.0.0.1', t0 + 19_000).ok).toBe(false);
    expect(limiter.take('10.0.0.1', t0 + 20_000).ok).toBe(true);
    expect(limiter.take('10.0.0.1', t0 + 20_000).ok).toBe(false);
  });

  test('check looks without spending: it says when the bucket is empty and for how long', () => {
    const limiter = createRateLimiter({ perMinute: 2 });
    for (let i = 0; i < 5; i++) expect(limiter.check('10.0.0.1', 0)).toEqual({ ok: true });
    expect(limiter.size).toBe(0);
    limiter.take('10.0.0.1', 0);
    expect(limiter.check('10.0.0.1', 0).ok).toBe(true);
    limiter.take('10.0.0.1', 0);
    expect(limiter.check('10.0.0.1', 0)).toEqual({ ok: false, retryAfterS: 30 });
    expect(limiter.check('10.0.0.1', 29_000).ok).toBe(false);
    expect(limiter.check('10.0.0.1', 30_000).ok).toBe(true);
  });

  test('clients are counted apart', () => {
    const limiter = createRateLimiter({ perMinute: 1 });
    expect(limiter.take('10.0.0.1', 0).ok).toBe(true);
    expect(limiter.take('10.0.0.1', 0).ok).toBe(false);
    expect(limiter.take('10.0.0.2', 0).ok).toBe(true);
  });

  test('memory stays bounded under a flood of addresses; busy clients stay limited', () => {
    const limiter = createRateLimiter({ perMinute: 2, maxClients: 100 });
    limiter.take('busy', 0);
    limiter.take('busy', 0);
    for (let i = 0; i < 10_000; i++) limiter.take(`10.1.${i >> 8}.${i & 255}`, 1);
    expect(limiter.size).toBeLessThanOrEqual(100);
    // Full buckets go first, then the least recently seen: a client that keeps knocking stays
    // limited while a flood of others passes by.
    const small = createRateLimiter({ perMinute: 2, maxClients: 10 });
    small.take('busy', 0);
    small.take('busy', 0);
    for (let i = 0; i < 100; i++) {
      small.take(`flood-${i}`, 1000 + i);
      expect(small.take('busy', 1000 + i).ok).toBe(false);
    }
    expect(small.size).toBeLessThanOrEqual(10);
  });

  test('IPv6 clients count per /64, IPv4 per address, mapped IPv4 as IPv4', () => {
    expect(rateLimitKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(rateLimitKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(rateLimitKey('2001:DB8:1:2::')).toBe('2001:db8:1:2::/64');
    expect(rateLimitKey('::1')).toBe('0:0:0:0::/64');
    expect(rateLimitKey('192.0.2.7')).toBe('192.0.2.7');
    expect(rateLimitKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
  });
});
