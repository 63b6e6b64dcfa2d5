import { BlockList } from 'node:net';
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { canonicalIp, createCidrMatcher, parseIPv4, parseIPv6 } from './cidr.js';

describe('CIDR matching', () => {
  test.each([
    ['10.0.0.0/8', '10.0.0.0', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['203.0.113.9', '203.0.113.9', true],
    ['203.0.113.9/32', '203.0.113.10', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['2001:db8::/32', '2001:db8::1', true],
    ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '2001:db9::', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '10.0.0.1', false],
    ['fe80::1/128', 'fe80::1', true],
    ['10.0.0.0/8', '010.0.0.1', false],
    ['10.0.0.0/8', '10.0.0', false],
    ['10.0.0.0/8', '10.0.0.1.5', false],
    ['10.0.0.0/8', '', false],
    ['2001:db8::/32', 'not-an-ip', false],
  ])('%s contains %s: %s', (cidr, ip, expected) => {
    expect(createCidrMatcher([cidr])(ip)).toBe(expected);
  });

  // A dual-stack socket, a proxy or an admin may spell an IPv4 client as IPv6 in many ways.
  test.each([
    ['10.0.0.0/8', '::FFFF:10.1.2.3'],
    ['10.0.0.0/8', '::ffff:a01:203'],
    ['10.0.0.0/8', '::FFFF:A01:203'],
    ['10.0.0.0/8', '0:0:0:0:0:ffff:10.1.2.3'],
    ['10.0.0.0/8', '0000:0000:0000:0000:0000:FFFF:0a01:0203'],
    ['10.0.0.0/8', '::0:ffff:10.1.2.3'],
    ['::ffff:10.0.0.0/104', '10.1.2.3'],
    ['::FFFF:a00:0/104', '::ffff:10.1.2.3'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['0:0:0:0:0:ffff:cb00:7109/128', '203.0.113.9'],
  ])('%s contains the IPv4-mapped spelling %s', (cidr, ip) => {
    expect(createCidrMatcher([cidr])(ip)).toBe(true);
    expect(createCidrMatcher(['192.168.0.0/16', '2001:db8::/32'])(ip)).toBe(false);
  });

  test.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['::FFFF:203.0.113.9', '203.0.113.9'],
    ['::ffff:cb00:7109', '203.0.113.9'],
    ['0:0:0:0:0:ffff:203.0.113.9', '203.0.113.9'],
    ['0:0:0:0:0:FFFF:CB00:7109', '203.0.113.9'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:1:0:0:0:0', '2001:db8:0:1::'],
    ['2001:0db8:0000:0000:1:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['::1', '::1'],
    ['::', '::'],
    ['::203.0.113.9', '::cb00:7109'],
    ['unknown', undefined],
    ['203.0.113.9:80', undefined],
    ['[::1]', undefined],
    ['', undefined],
  ])('canonicalIp(%s) = %s', (text, expected) => {
    expect(canonicalIp(text)).toBe(expected);
  });

  test('parsers agree with the textbook forms', () => {
    expect(parseIPv4('192.168.1.7')).toBe(0xc0a80107);
    expect(parseIPv4('256.0.0.1')).toBeUndefined();
    expect(Array.from(parseIPv6('2001:db8::ff00:42:8329')!)).toEqual([
      0x2001, 0xdb8, 0, 0, 0, 0xff00, 0x42, 0x8329,
    ]);
    expect(Array.from(parseIPv6('::ffff:192.0.2.128')!)).toEqual([
      0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0280,
    ]);
  });

  // node's BlockList is the oracle: our matcher must agree with it on every address.
  const octet = fc.integer({ min: 0, max: 255 });
  const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
  const word = fc.integer({ min: 0, max: 0xffff }).map((w) => w.toString(16));
  const v6 = fc.array(word, { minLength: 8, maxLength: 8 }).map((w) => w.join(':'));

  test('property: IPv4 agrees with BlockList', () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 32 }), v4, (net, prefix, ip) => {
        const oracle = new BlockList();
        oracle.addSubnet(net, prefix, 'ipv4');
        expect(createCidrMatcher([`${net}/${prefix}`])(ip)).toBe(oracle.check(ip, 'ipv4'));
        // Addresses inside the block (same leading octets) must match too.
        const inside = `${net.split('.').slice(0, 3).join('.')}.${ip.split('.')[3]}`;
        expect(createCidrMatcher([`${net}/${prefix}`])(inside)).toBe(oracle.check(inside, 'ipv4'));
      }),
      { numRuns: 3000 },
    );
  });

  test('property: IPv6 agrees with BlockList', () => {
    fc.assert(
      fc.property(
        v6,
        fc.integer({ min: 0, max: 128 }),
        v6,
        fc.integer({ min: 0, max: 7 }),
        (net, prefix, other, keep) => {
          const oracle = new BlockList();
          oracle.addSubnet(net, prefix, 'ipv6');
          // Mix: share the first `keep` words with the network, so some addresses fall inside.
          const ip = [...net.split(':').slice(0, keep), ...other.split(':').slice(keep)].join(':');
          expect(createCidrMatcher([`${net}/${prefix}`])(ip)).toBe(oracle.check(ip, 'ipv6'));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
