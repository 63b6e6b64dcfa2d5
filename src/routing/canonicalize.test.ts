import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { canonicalizeHost, canonicalizeTarget } from './canonicalize.js';

function canonical(target: string): string {
  const result = canonicalizeTarget(target);
  if (!result.ok) throw new Error(`refused ${target}: ${result.rejection}`);
  return result.target.path + result.target.query;
}

function rejection(target: string): string | undefined {
  const result = canonicalizeTarget(target);
  return result.ok ? undefined : result.rejection;
}

describe('canonicalizeTarget', () => {
  test.each([
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['//admin', '/admin'],
    ['/a//b///c', '/a/b/c'],
    ['/public/../admin', '/admin'],
    ['/a/./b', '/a/b'],
    ['/a/.', '/a/'],
    ['/a/..', '/'],
    ['/%2e%2e', undefined],
    ['/x/%2e%2e/admin', '/admin'],
    ['/x/%2E%2E/admin', '/admin'],
    ['/x/.%2e/admin', '/admin'],
    ['/%61dmin', '/admin'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%20b', '/a%20b'],
    ['/a"b<c>{d}`e', '/a%22b%3Cc%3E%7Bd%7D%60e'],
    ['/search?q=../../x&y=%2F', '/search?q=../../x&y=%2F'],
    ['/admin;jsessionid=1/x', '/admin;jsessionid=1/x'],
    ['/%252e%252e/x', '/%252e%252e/x'],
  ])('%s → %s', (input, expected) => {
    if (expected === undefined) expect(rejection(input)).toBeDefined();
    else expect(canonical(input)).toBe(expected);
  });

  test.each([
    ['/..', 'escapes_root'],
    ['/a/../..', 'escapes_root'],
    ['/%2e%2e/', 'escapes_root'],
    ['/a%2fb', 'encoded_slash'],
    ['/a%2Fb', 'encoded_slash'],
    ['/a%5cb', 'encoded_backslash'],
    ['/a\\b', 'bad_character'],
    ['/a%00b', 'encoded_control'],
    ['/a%0ab', 'encoded_control'],
    ['/a%7fb', 'encoded_control'],
    ['/a\u0000b', 'bad_character'],
    ['/a\tb', 'bad_character'],
    ['/a b', 'bad_character'],
    ['/caf\u00e9', 'bad_character'],
    ['/a#b', 'fragment'],
    ['/a%23b', 'fragment'],
    ['/a?b#c', 'fragment'],
    ['/a%zz', 'bad_percent_encoding'],
    ['/a%2', 'bad_percent_encoding'],
    ['/%c0%ae%c0%ae/admin', 'invalid_utf8'],
    ['/%ed%a0%80', 'invalid_utf8'],
    ['/%ff', 'invalid_utf8'],
    ['/..;/admin', 'dot_segment_with_params'],
    ['/.;x/admin', 'dot_segment_with_params'],
    ['/%2e%2e;/admin', 'dot_segment_with_params'],
    ['/;x/admin', 'empty_segment_with_params'],
    ['http://evil.example/admin', 'not_origin_form'],
    ['*', 'not_origin_form'],
    ['', 'not_origin_form'],
  ])('%s is refused (%s)', (input, reason) => {
    expect(rejection(input)).toBe(reason);
  });

  // Forwarded as literal text, but flagged: the route step refuses them unless the route sets
  // allow_double_encoding (SPEC §7), since an upstream that decodes twice reads them as separators.
  test.each([
    ['/public/..%252fadmin', true],
    ['/public/..%252Fadmin', true],
    ['/%252e%252e/x', true],
    ['/%252E./admin', true],
    ['/a%255cb', true],
    ['/a%255Cb', true],
    ['/a%25252fb', true],
    ['/a%25%32%66b', true],
    ['/a%25%32%46b', true],
    ['/a%2541', false],
    ['/a%25/2f', false],
    ['/100%25', false],
    ['/a?x=%252f', false],
    ['/plain/path', false],
  ])('%s is double-encoded: %s', (input, expected) => {
    const result = canonicalizeTarget(input);
    expect(result.ok && result.target.doubleEncoded).toBe(expected);
  });

  test('segment names drop ;params so /admin;x matches as /admin', () => {
    const result = canonicalizeTarget('/admin;x=1/settings;y');
    expect(result.ok && result.target.segments).toEqual(['admin', 'settings']);
  });

  test('a segment that spells a rejection code is just a segment', () => {
    expect(canonical('/docs/fragment/escapes_root')).toBe('/docs/fragment/escapes_root');
  });

  // Printable ASCII plus the characters attackers like, and percent escapes of any byte.
  const pathChar = fc.oneof(
    fc.constantFrom('/', '.', '..', '%', ';', '\\', '?', '#', 'a', 'A', '~', '-', '_', '"', '{'),
    fc.integer({ min: 0, max: 255 }).map((b) => '%' + b.toString(16).padStart(2, '0')),
    fc
      .integer({ min: 0, max: 255 })
      .map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')),
    fc.string({ minLength: 1, maxLength: 3 }),
  );
  const target = fc.array(pathChar, { maxLength: 20 }).map((parts) => '/' + parts.join(''));

  test('property: accepted paths are free of dot segments, empty segments and encoded separators', () => {
    fc.assert(
      fc.property(target, (raw) => {
        const result = canonicalizeTarget(raw);
        if (!result.ok) return;
        const { path } = result.target;
        expect(path.startsWith('/')).toBe(true);
        expect(path).not.toMatch(/\/\//);
        expect(path).not.toMatch(/%2f|%5c|%2e|%00|\\/i);
        for (const segment of path.split('/').slice(1, -1)) {
          expect(['.', '..', '']).not.toContain(segment.split(';')[0]);
        }
      }),
      { numRuns: 5000 },
    );
  });

  test('property: canonicalization is idempotent and a fixed point of WHATWG URL parsing', () => {
    fc.assert(
      fc.property(target, (raw) => {
        const first = canonicalizeTarget(raw);
        if (!first.ok) return;
        const again = canonicalizeTarget(first.target.path + first.target.query);
        expect(again).toEqual(first);
        // http-proxy passes the path through `new URL()`: it must not change it.
        expect(new URL(first.target.path, 'http://base.invalid').pathname).toBe(first.target.path);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('canonicalizeHost', () => {
  test.each([
    ['Wiki.Corp.Example', 'wiki.corp.example', 'wiki.corp.example'],
    ['wiki.corp.example.:8443', 'wiki.corp.example', 'wiki.corp.example:8443'],
    ['127.0.0.1:8080', '127.0.0.1', '127.0.0.1:8080'],
    ['[::1]:8080', '[::1]', '[::1]:8080'],
    ['my_host.internal', 'my_host.internal', 'my_host.internal'],
  ])('%s → %s', (header, host, authority) => {
    expect(canonicalizeHost(header)).toEqual({ host, authority });
  });

  test.each([
    undefined,
    '',
    'wiki corp',
    'wiki/x',
    'a@b',
    'wiki.corp.example:http',
    '[zz]:1',
    'a..b',
    '-a.b',
    'wiki:1:2',
  ])('%s is refused', (header) => {
    expect(canonicalizeHost(header)).toBeUndefined();
  });
});
