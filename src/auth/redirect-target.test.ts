import { describe, expect, test } from '@jest/globals';
import { resolveRedirectTarget } from './redirect-target.js';

const base = { scheme: 'https' as const, authority: 'wiki.corp.example' };
const gatewayHosts = new Set(['wiki.corp.example', 'grafana.corp.example']);
const resolve = (rd: unknown) => resolveRedirectTarget(rd, base, (h) => gatewayHosts.has(h));

describe('resolveRedirectTarget', () => {
  test.each([
    ['/', 'https://wiki.corp.example/'],
    ['/page?x=1', 'https://wiki.corp.example/page?x=1'],
    ['/a/../b', 'https://wiki.corp.example/b'],
    ['https://grafana.corp.example/d/x?orgId=1', 'https://grafana.corp.example/d/x?orgId=1'],
    ['https://GRAFANA.corp.example:443/', 'https://grafana.corp.example/'],
    ['https://grafana.corp.example', 'https://grafana.corp.example/'],
    ['https://grafana.corp.example?x=1', 'https://grafana.corp.example/?x=1'],
  ])('%s → %s', (rd, expected) => {
    expect(resolve(rd)).toBe(expected);
  });

  test.each([
    undefined,
    '',
    ['/a', '/b'],
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\/evil.example',
    '/%2f%2fevil.example',
    '/%5cevil.example',
    '/\t/evil.example',
    ' /x',
    'https:evil.example',
    'https:/evil.example',
    'https://evil.example/',
    'https://wiki.corp.example@evil.example/',
    'https://evil.example\\@wiki.corp.example/',
    'https://wiki.corp.example.evil.example/',
    'https://evilwiki.corp.example/',
    'http://wiki.corp.example/',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,x',
    'evil.example',
    '/../../etc',
    'https://wіki.corp.example/',
    '/a#frag',
    'x'.repeat(3000),
  ])('refuses %p', (rd) => {
    expect(resolve(rd)).toBeUndefined();
  });
});
