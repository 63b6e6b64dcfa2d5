import { describe, expect, test } from '@jest/globals';
import { formatIssue } from './issues.js';
import { parseGateway, parseRoutes } from './load.js';

function messages(result: ReturnType<typeof parseRoutes>): string[] {
  return result.ok ? result.warnings.map(formatIssue) : result.issues.map(formatIssue);
}

describe('routes.yaml validation', () => {
  test('a valid file compiles with defaults applied', () => {
    const result = parseRoutes(
      'routes.yaml',
      'version: 1\nroutes:\n  - name: wiki\n    host: Wiki.Corp.Example.\n    upstream: http://10.0.0.1:8080\n    policy:\n      allow:\n        - groups: [eng]\n',
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [route] = result.value.routes;
    expect(route).toMatchObject({
      host: 'wiki.corp.example',
      path: '/',
      timeout: 30000,
      websockets: true,
      allow_double_encoding: false,
    });
  });

  test('unknown key gets did-you-mean at the key position', () => {
    const result = parseRoutes(
      'routes.yaml',
      'version: 1\nroutes:\n  - name: wiki\n    hots: a.b\n    upstream: http://x:1\n',
    );
    expect(messages(result).sort()).toEqual(
      [
        'routes.yaml:3:5: route "wiki": missing required key "host" (hint: host: wiki.corp.example)',
        'routes.yaml:4:5: route "wiki": unknown key "hots" (hint: did you mean "host"?)',
      ].sort(),
    );
  });
});

describe('gateway.yaml validation', () => {
  test('http issuer is refused off loopback', () => {
    const result = parseGateway(
      'gw.yaml',
      'idp:\n  issuer: http://idp.corp.example\n  client_id: x\n  client_secret_env: S\nsession:\n  secret_env: T\n',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map(formatIssue)).toEqual([
      'gw.yaml:2:11: idp.issuer must be an https:// URL (http:// is accepted only for a loopback IdP), got a string ("http://idp.corp.example") (hint: issuer: https://idp.corp.example)',
    ]);
  });

  test.each(['Path', 'secure', 'GMT'])(
    'a session cookie named %s is refused: every app cookie would be dropped',
    (name) => {
      const result = parseGateway(
        'gw.yaml',
        `idp:\n  issuer: https://idp.corp.example\n  client_id: x\n  client_secret_env: S\nsession:\n  secret_env: T\n  cookie_name: ${name}\n`,
      );
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.issues.map(formatIssue).join('\n')).toContain(
        'must not be a Set-Cookie attribute word',
      );
    },
  );
});
