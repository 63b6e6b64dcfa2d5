import { execFileSync } from 'node:child_process';
import { expect, test } from '@jest/globals';
import { asPropertyKey } from './property-key.js';

test('asPropertyKey gives back the same text for any header name the configuration accepts', () => {
  // The schemas accept [A-Za-z0-9-]{1,64}, lower-cased: index-like names and names of
  // Object.prototype's members included.
  const names = ['x-forwarded-user', '123', '4294967295', 'constructor', '-', 'x'.repeat(64)];
  for (const name of names) expect(asPropertyKey(name)).toBe(name);
});

test('the header names the gateway writes on every request are internalized, as V8 keeps keys', () => {
  // Whether a string is internalized is V8's business, not the language's: a child node with
  // natives syntax prints each string's type. It loads the configuration with the build
  // (dist/, which npm test makes first) as the gateway does: the identity header names of a
  // route with a custom one and the defaults, and the assertion header of the shipped
  // gateway.yaml. A lower-cased string is the control (so this test can tell).
  const script = `
    import { buildRouteTable } from './dist/config/route-table.js';
    import { loadConfiguration } from './dist/config/load-configuration.js';
    const routes = [
      'version: 1',
      'routes:',
      '  - name: grafana',
      '    host: grafana.test',
      '    upstream: http://127.0.0.1:3000',
      '    identity_headers: { user: X-WEBAUTH-USER }',
      '    policy: { allow: [ { authenticated: true } ] }',
    ].join('\\n');
    const built = await buildRouteTable('routes.yaml', routes, { mfaAcrValues: [], serviceTokens: undefined });
    if (!built.ok) throw new Error(JSON.stringify(built.issues));
    const secrets = { ZTNA_CLIENT_SECRET: 'c'.repeat(32), ZTNA_SESSION_SECRET: 's'.repeat(64) };
    const shipped = await loadConfiguration('config/gateway.yaml', undefined, secrets);
    if (!shipped.ok) throw new Error(JSON.stringify(shipped.issues));
    const names = built.table.routes[0].identityHeaders;
    const written = [names.user, names.email, names.groups, shipped.settings.assertion.header];
    for (const name of [...written, 'X-Control'.toLowerCase()]) %DebugPrint(name);`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's ESM flags
  const output = execFileSync(
    process.execPath,
    ['--allow-natives-syntax', '--input-type=module', '-e', script],
    { env, encoding: 'utf8' },
  );
  const internalized = new Map<string, boolean>();
  let current = '';
  // `DebugPrint: 0x…: [String]: "x-control"`, or `… [String] in OldSpace: #x-forwarded-user`
  // for an internalized one, then its map's ` - type: …` line. Only V8 writes here: lines of
  // console.log, written asynchronously to a pipe, could come in another order.
  for (const line of output.split('\n')) {
    const printed = /^DebugPrint: .*\[String\][^:]*: (.*)$/.exec(line);
    if (printed !== null) current = printed[1]!.replace(/^#|^"|"$/g, '');
    else if (/^\s*- type: /.test(line) && !internalized.has(current))
      internalized.set(current, line.includes('INTERNALIZED'));
  }
  expect(Object.fromEntries(internalized)).toEqual({
    'x-webauth-user': true,
    'x-forwarded-email': true,
    'x-forwarded-groups': true,
    'x-ztna-assertion': true,
    'x-control': false,
  });
});
