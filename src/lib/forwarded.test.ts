import { describe, expect, test } from '@jest/globals';
import { createCidrMatcher } from './cidr.js';
import { resolveClientIp, resolveScheme } from './forwarded.js';

const trusted = createCidrMatcher(['10.0.0.0/8', '::1/128']);

describe('resolveClientIp', () => {
  test('an untrusted peer is the client, whatever X-Forwarded-For says', () => {
    expect(resolveClientIp('203.0.113.9', '1.2.3.4', trusted)).toBe('203.0.113.9');
  });
  test('through trusted proxies, the first untrusted hop from the right is the client', () => {
    expect(resolveClientIp('10.0.0.2', '6.6.6.6, 198.51.100.7, 10.0.0.5', trusted)).toBe(
      '198.51.100.7',
    );
  });
  test('garbage in the chain stops the walk at the last address we can vouch for', () => {
    expect(resolveClientIp('10.0.0.2', 'evil, 10.0.0.5', trusted)).toBe('10.0.0.5');
  });
  test('IPv4-mapped IPv6 peers are normalized', () => {
    expect(resolveClientIp('::ffff:10.0.0.2', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(resolveClientIp('::ffff:203.0.113.9', undefined, trusted)).toBe('203.0.113.9');
  });
});

describe('resolveScheme', () => {
  test('TLS socket is https; X-Forwarded-Proto counts only from a trusted proxy', () => {
    expect(resolveScheme(true, false, undefined)).toBe('https');
    expect(resolveScheme(false, false, 'https')).toBe('http');
    expect(resolveScheme(false, true, 'https, http')).toBe('https');
    expect(resolveScheme(false, true, 'gopher')).toBe('http');
  });
});
