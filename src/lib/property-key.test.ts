import { execFileSync } from 'node:child_process';
import { expect, test } from '@jest/globals';
import { asPropertyKey } from './property-key.js';

test('asPropertyKey gives back the same text', () => {
  for (const name of ['x-forwarded-user', 'x-webauth-user', '123', 'x_weird-Name', ''])
    expect(asPropertyKey(name)).toBe(name);
});

test('the header names the gateway writes on every request are internalized, as V8 keeps keys', () => {
  // Whether a string is internalized is V8's business, not the language's: a child node with
  // natives syntax prints each string's type. The route table (the built one, as it runs)
  // makes the identity header names; a custom name and the defaults are checked, with a
  // lower-cased string as the control (so this test can tell).
  const script = `
    import { buildRouteTable } from './dist/config/route-table.js';
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
    const names = built.table.routes[0].identityHeaders;
    for (const name of [names.user, names.email, names.groups, 'X-Control'.toLowerCase()]) {
      console.log('name ' + name);
      %DebugPrint(name);
    }`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's ESM flags
  const output = execFileSync(
    process.execPath,
    ['--allow-natives-syntax', '--input-type=module', '-e', script],
    { env, encoding: 'utf8' },
  );
  const internalized = new Map<string, boolean>();
  let current = '';
  for (const line of output.split('\n')) {
    if (line.startsWith('name ')) current = line.slice('name '.length);
    else if (/^\s*- type: /.test(line) && !internalized.has(current))
      internalized.set(current, line.includes('INTERNALIZED'));
  }
  expect(Object.fromEntries(internalized)).toEqual({
    'x-webauth-user': true,
    'x-forwarded-email': true,
    'x-forwarded-groups': true,
    'x-control': false,
  });
});
