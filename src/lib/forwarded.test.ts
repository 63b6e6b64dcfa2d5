import { describe, expect, test } from '@jest/globals';
import { createCidrMatcher } from './cidr.js';
import {
  parseForwardedAddress,
  resolveClientIp,
  resolveScheme,
  UNKNOWN_CLIENT,
} from './forwarded.js';

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
  test('an entry that is no address makes the client unknown, never the proxy that wrote it', () => {
    for (const chain of ['evil, 10.0.0.5', 'unknown', '198.51.100.7, unknown', '_hidden', ''])
      expect(resolveClientIp('10.0.0.2', chain, trusted)).toBe(UNKNOWN_CLIENT);
  });
  test('entries left of the client are not read at all', () => {
    expect(resolveClientIp('10.0.0.2', 'unknown, 198.51.100.7', trusted)).toBe('198.51.100.7');
  });
  test('an entry with a port is the address without it', () => {
    expect(resolveClientIp('10.0.0.2', '1.2.3.4:5555', trusted)).toBe('1.2.3.4');
    expect(resolveClientIp('10.0.0.2', '[2001:db8::1]:443', trusted)).toBe('2001:db8::1');
    expect(resolveClientIp('10.0.0.2', '[2001:DB8::1]', trusted)).toBe('2001:db8::1');
    expect(resolveClientIp('10.0.0.2', '198.51.100.7, 10.0.0.5:8080', trusted)).toBe(
      '198.51.100.7',
    );
  });
  test.each([
    ['1.2.3.4:', undefined],
    ['1.2.3.4:123456', undefined],
    ['[10.0.0.1]:80', undefined],
    ['[2001:db8::1', undefined],
    ['[2001:db8::1]x', undefined],
    ['2001:db8::1', '2001:db8::1'],
    ['  ::ffff:cb00:7109 ', '203.0.113.9'],
    ['[::ffff:203.0.113.9]:443', '203.0.113.9'],
  ])('parseForwardedAddress(%s) = %s', (entry, expected) => {
    expect(parseForwardedAddress(entry)).toBe(expected);
  });
  test('IPv4-mapped IPv6 peers and entries are normalized, in every spelling', () => {
    expect(resolveClientIp('::ffff:10.0.0.2', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(resolveClientIp('::ffff:203.0.113.9', undefined, trusted)).toBe('203.0.113.9');
    expect(resolveClientIp('::FFFF:203.0.113.9', undefined, trusted)).toBe('203.0.113.9');
    expect(resolveClientIp('::ffff:cb00:7109', undefined, trusted)).toBe('203.0.113.9');
    expect(resolveClientIp('0:0:0:0:0:ffff:203.0.113.9', undefined, trusted)).toBe('203.0.113.9');
    // A trusted proxy whose address the socket spells as mapped IPv6 is still trusted.
    expect(resolveClientIp('::ffff:a00:2', '::FFFF:198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(resolveClientIp('10.0.0.2', '0:0:0:0:0:ffff:c633:6407, ::ffff:10.0.0.5', trusted)).toBe(
      '198.51.100.7',
    );
  });
  test('a peer without an address is unknown', () => {
    expect(resolveClientIp('', undefined, trusted)).toBe(UNKNOWN_CLIENT);
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
