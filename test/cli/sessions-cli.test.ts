import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { spawnCli } from '../harness/spawn.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { signedInAppRoutes } from '../harness/sessions.js';

// `ztna-gateway sessions list|revoke --user` (SPEC §9, issue 13): the built binary calls a
// running gateway's admin API, with the URL and token from flags or the environment.

const ADMIN_TOKEN = 'cli-test-admin-token-0123456789';

const routes = signedInAppRoutes;

async function cli(args: string[], env: Record<string, string> = {}) {
  const run = spawnCli(['sessions', ...args], env);
  const code = await run.exited;
  return { code, out: run.stdout(), err: run.stderr() };
}

describe('ztna-gateway sessions', () => {
  let stack: Stack;
  let adminUrl: string;
  beforeAll(async () => {
    stack = await startStack({
      routes,
      gatewayExtra: 'admin_token_env: TEST_ADMIN_TOKEN',
      env: { TEST_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    adminUrl = stack.adminUrl('');
  });
  afterAll(() => stack.close());

  test('lists a user’s sessions and revokes them everywhere, with the token from the environment', async () => {
    const browsers = [new TestClient(), new TestClient()];
    for (const browser of browsers)
      expect((await stack.login(browser, 'alice', stack.url('app.test', '/'))).status).toBe(200);
    const env = { ZTNA_ADMIN_URL: adminUrl, ZTNA_ADMIN_TOKEN: ADMIN_TOKEN };

    const listed = await cli(['list', '--user', 'alice@corp.example'], env);
    expect(listed.code).toBe(0);
    const lines = listed.out.trim().split('\n');
    expect(lines[0]).toMatch(/^REF\s+SUB\s+EMAIL\s+CREATED\s+DEVICE$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^[0-9a-f]{16}\s+alice\s+alice@corp\.example\s/);

    const revoked = await cli(['revoke', '--user', 'alice'], env);
    expect(revoked).toMatchObject({ code: 0 });
    expect(revoked.out).toContain('revoked 2 session(s) of alice');
    for (const browser of browsers)
      expect((await browser.request(stack.url('app.test', '/after'))).status).toBe(401);
    expect((await cli(['list', '--user', 'alice'], env)).out).toContain('no sessions for alice');
  });

  test('flags win over the environment, and --json prints the API’s answer', async () => {
    const json = await cli(
      ['list', '--user', 'nobody', '--json', '--admin-url', adminUrl, '--admin-token', ADMIN_TOKEN],
      { ZTNA_ADMIN_URL: 'http://127.0.0.1:1', ZTNA_ADMIN_TOKEN: 'wrong' },
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual({ user: 'nobody', sessions: [] });
  });

  test('a wrong or missing token, an unreachable gateway and bad usage are clear failures', async () => {
    const noToken = await cli(['list', '--user', 'alice', '--admin-url', adminUrl]);
    expect(noToken.code).toBe(1);
    expect(noToken.err).toContain('admin API answered 401');
    expect(noToken.err).toContain('ZTNA_ADMIN_TOKEN');
    const unreachable = await cli(['list', '--user', 'alice', '--admin-url', 'http://127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain('cannot reach the admin API at http://127.0.0.1:1');
    expect((await cli(['list'])).code).toBe(2);
    expect((await cli(['purge', '--user', 'alice'])).code).toBe(2);
    expect((await cli(['list', '--user', 'a', '--admin-url', 'ftp://x'])).err).toContain(
      '--admin-url must be an http(s) URL',
    );
  });
});
