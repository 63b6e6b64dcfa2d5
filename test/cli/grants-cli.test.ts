import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnCli } from '../harness/spawn.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { TestClient } from '../harness/http-client.js';

// `ztna-gateway grants list|add|revoke` (SPEC §3, §9, §13): the built binary calls a running
// gateway's /admin/grants, with the URL and token from flags or the environment.

const ADMIN_TOKEN = 'grants-cli-test-admin-token-0123';

const routes = (upstream: string) => `version: 1
routes:
  - name: ops
    host: ops.test
    upstream: ${upstream}
    policy: { allow: [ { groups: [engineering] }, { grant: ops-admin } ] }
    jit: { grant: ops-admin, max_duration: 4h, approvers: { groups: [engineering] } }
`;

async function cli(args: string[], env: Record<string, string> = {}) {
  const run = spawnCli(['grants', ...args], env);
  const code = await run.exited;
  return { code, out: run.stdout(), err: run.stderr() };
}

describe('ztna-gateway grants', () => {
  let stack: Stack;
  let env: Record<string, string>;
  beforeAll(async () => {
    stack = await startStack({
      routes,
      gatewayExtra: 'admin_token_env: TEST_ADMIN_TOKEN',
      env: { TEST_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    env = { ZTNA_ADMIN_URL: stack.adminUrl(''), ZTNA_ADMIN_TOKEN: ADMIN_TOKEN };
  });
  afterAll(() => stack.close());

  test('add lets the person in, list shows the grant, revoke ends it', async () => {
    const bob = new TestClient();
    expect((await stack.login(bob, 'bob', stack.url('ops.test', '/'))).status).toBe(403);

    const added = await cli(
      [
        'add',
        '--user',
        'bob@corp.example',
        '--grant',
        'ops-admin',
        '--duration',
        '2h',
        '--reason',
        'incident 4711',
      ],
      env,
    );
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    const id = /granted ops-admin to bob@corp\.example until \S+Z \(id ([0-9a-f-]{36})\)/.exec(
      added.out,
    )?.[1];
    expect(id).toBeDefined();
    expect((await bob.request(stack.url('ops.test', '/'))).status).toBe(200);

    const listed = await cli(['list'], env);
    expect(listed.code).toBe(0);
    const lines = listed.out.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+GRANT\s+FOR\s+EXPIRES\s+BY\s+REASON$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${id}\\s+ops-admin\\s+bob@corp\\.example\\s+\\S+Z\\s+admin\\s+incident 4711$`),
    );
    expect(lines).toHaveLength(2);
    expect((await cli(['list', '--user', 'alice'], env)).out.trim()).toBe('no running grants');

    const revoked = await cli(
      ['revoke', '--user', 'bob@corp.example', '--grant', 'ops-admin'],
      env,
    );
    expect(revoked.code).toBe(0);
    expect(revoked.out).toContain('revoked 1 grant(s) on every instance');
    expect((await bob.request(stack.url('ops.test', '/after'))).status).toBe(403);
    const again = await cli(['revoke', '--id', id!], env);
    expect(again.code).toBe(1);
    expect(again.err).toContain('admin API answered 404: no running grant matched');
  });

  test('--json prints the API’s answer; flags win over the environment', async () => {
    const added = await cli(
      [
        'add',
        ...['--user', 'carol', '--grant', 'ops-admin', '--duration', '30m', '--reason', 'audit'],
        '--json',
      ],
      env,
    );
    const grant = (JSON.parse(added.out) as { grant: Record<string, unknown> }).grant;
    expect(grant).toMatchObject({ grant: 'ops-admin', sub: 'carol', granted_by: 'admin' });
    const json = await cli(
      ['list', '--json', '--admin-url', env.ZTNA_ADMIN_URL!, '--admin-token', ADMIN_TOKEN],
      { ZTNA_ADMIN_URL: 'http://127.0.0.1:1', ZTNA_ADMIN_TOKEN: 'wrong' },
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual({ grants: [grant], pending: [] });
    expect((await cli(['revoke', '--id', grant.id as string], env)).code).toBe(0);
  });

  test('refusals of the API, a wrong token and bad usage are clear failures', async () => {
    const tooLong = await cli(
      ['add', '--user', 'bob', '--grant', 'ops-admin', '--duration', '5h', '--reason', 'x'],
      env,
    );
    expect(tooLong.code).toBe(1);
    expect(tooLong.err).toContain('admin API answered 400: duration must be between 1m and 4h');
    const unknown = await cli(
      ['add', '--user', 'bob', '--grant', 'root', '--duration', '1h', '--reason', 'x'],
      env,
    );
    expect(unknown.err).toContain('grant "root" is not declared');
    // The one rule of free text the access forms use too: no C1 control (a one-byte CSI on
    // some terminals), no bidirectional override, as well as no C0 control.
    for (const reason of ['clear \u009b2K line', 'reversed \u202e text', 'two\nlines']) {
      const refused = await cli(
        ['add', '--user', 'bob', '--grant', 'ops-admin', '--duration', '1h', '--reason', reason],
        env,
      );
      expect([reason, refused.code]).toEqual([reason, 1]);
      expect(refused.err).toContain('reason must not contain control characters');
    }
    const noToken = await cli(['list', '--admin-url', env.ZTNA_ADMIN_URL!]);
    expect(noToken.code).toBe(1);
    expect(noToken.err).toContain('ZTNA_ADMIN_TOKEN');

    const usage = [
      ['add', '--user', 'bob', '--grant', 'ops-admin', '--duration', '1h'],
      ['revoke'],
      ['revoke', '--id', 'x', '--user', 'bob'],
      ['revoke', '--id', 'x', '--grant', 'ops-admin'],
      ['extend', '--user', 'bob'],
      ['list', 'extra'],
    ];
    for (const args of usage) {
      const run = await cli(args, env);
      expect([args.join(' '), run.code]).toEqual([args.join(' '), 2]);
    }
    expect((await cli(['add', '--user', 'bob'], env)).err).toContain('--grant is required');
    const help = spawnCli(['help']);
    await help.exited;
    expect(help.stdout()).toContain('ztna-gateway grants list [--user EMAIL|SUB]');
    expect(help.stdout()).toContain('ztna-gateway grants revoke (--id ID | --user EMAIL|SUB');
  });
});
