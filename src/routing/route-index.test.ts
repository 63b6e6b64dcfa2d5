import { describe, expect, test } from '@jest/globals';
import { canonicalizeTarget } from './canonicalize.js';
import { createRouteIndex } from './route-index.js';

function route(name: string, host: string, path = '/') {
  const result = canonicalizeTarget(path);
  if (!result.ok) throw new Error(path);
  return { name, host, pathSegments: result.target.segments };
}

function matcher(routes: ReturnType<typeof route>[]) {
  const index = createRouteIndex(routes);
  return (host: string, path: string) => {
    const result = canonicalizeTarget(path);
    if (!result.ok) throw new Error(path);
    return index.match(host, result.target.segments)?.name;
  };
}

describe('route index', () => {
  const match = matcher([
    route('wiki', 'wiki.corp.example'),
    route('wiki-admin', 'wiki.corp.example', '/admin'),
    route('wiki-app', 'wiki.corp.example', '/app'),
    route('any', '*.corp.example'),
    route('deep', '*.apps.corp.example'),
    route('only-api', 'api.corp.example', '/v1'),
  ]);

  test('longest path prefix wins, on whole segments', () => {
    expect(match('wiki.corp.example', '/')).toBe('wiki');
    expect(match('wiki.corp.example', '/admin')).toBe('wiki-admin');
    expect(match('wiki.corp.example', '/admin/')).toBe('wiki-admin');
    expect(match('wiki.corp.example', '/admin/x/y')).toBe('wiki-admin');
    expect(match('wiki.corp.example', '/application')).toBe('wiki');
    expect(match('wiki.corp.example', '/administrator')).toBe('wiki');
    expect(match('wiki.corp.example', '/admin;x=1/settings')).toBe('wiki-admin');
  });

  test('path matching is case-sensitive', () => {
    expect(match('wiki.corp.example', '/Admin')).toBe('wiki');
  });

  test('exact host beats wildcard; longer wildcard suffix beats shorter', () => {
    expect(match('chat.corp.example', '/')).toBe('any');
    expect(match('a.b.corp.example', '/')).toBe('any');
    expect(match('x.apps.corp.example', '/')).toBe('deep');
  });

  test('hosts match whole labels, never substrings', () => {
    expect(match('evilwiki.corp.example', '/')).toBe('any');
    expect(match('wiki.corp.example.evil.com', '/')).toBeUndefined();
    expect(match('corp.example', '/')).toBeUndefined();
    expect(match('xcorp.example', '/')).toBeUndefined();
  });

  test('a chosen host does not fall through to a wildcard on a path miss', () => {
    expect(match('api.corp.example', '/v1/x')).toBe('only-api');
    expect(match('api.corp.example', '/v2')).toBeUndefined();
  });

  test('two routes on the same host and path are refused', () => {
    expect(() =>
      createRouteIndex([route('a', 'x.example', '/p'), route('b', 'x.example', '/p')]),
    ).toThrow(TypeError);
  });
});
