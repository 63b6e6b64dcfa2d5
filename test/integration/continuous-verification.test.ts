import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { eventually } from '../harness/eventually.js';
import { TestClient } from '../harness/http-client.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const oneRoute = (upstream: string) =>
  `version: 1\nroutes:\n  - name: app\n    host: app.test\n    upstream: ${upstream}\n    policy: { allow: [ { authenticated: true } ] }\n`;

async function authEvents(stack: Stack, event: string): Promise<number> {
  return sampleValue(await stack.metrics(), 'ztna_auth_events_total', { event });
}

describe('session lifetimes, enforced server-side', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      sessionExtra: '  max_age: 3s\n  idle_timeout: 1s',
      routes: oneRoute,
    });
  });
  afterAll(() => stack.close());

  test('a session unused for idle_timeout ends', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url('app.test', '/'));
    const cookie = await client.jar.getCookieString(stack.url('app.test', '/'));
    expect(
      (
        await client.request(stack.url('app.test', '/active'), {
          noCookies: true,
          headers: { cookie },
        })
      ).status,
    ).toBe(200);
    await sleep(1300);
    expect(
      (
        await client.request(stack.url('app.test', '/idle'), {
          noCookies: true,
          headers: { cookie },
        })
      ).status,
    ).toBe(401);
  });

  test('a session in constant use still ends at max_age, whatever the client keeps sending', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url('app.test', '/'));
    const started = Date.now();
    // Replay the cookie by hand: the browser's copy expires on its own, the server must too.
    const cookie = await client.jar.getCookieString(stack.url('app.test', '/'));
    let status = 200;
    while (status === 200 && Date.now() - started < 5000) {
      await sleep(300);
      status = (
        await client.request(stack.url('app.test', '/busy'), {
          noCookies: true,
          headers: { cookie },
        })
      ).status;
    }
    expect(status).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2800);
  }, 10_000);
});

describe('token refresh against the real IdP', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Access tokens of 5 s, answered slowly: every request of a session needs a refresh, and
    // concurrent requests certainly overlap one.
    stack = await startStack({
      idp: { accessTokenTtlSeconds: 5, tokenDelayMs: 300 },
      routes: oneRoute,
    });
  });
  afterAll(() => stack.close());

  test('expired IdP tokens are refreshed, once for concurrent requests (single-flight)', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url('app.test', '/'));
    const before = await authEvents(stack, 'refresh_ok');
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) => client.request(stack.url('app.test', `/parallel/${i}`))),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await authEvents(stack, 'refresh_ok')) - before).toBe(1);
    // The refreshed session keeps working (the new tokens were saved, not the spent ones).
    expect((await client.request(stack.url('app.test', '/after-refresh'))).status).toBe(200);
  });

  test('a user disabled at the IdP loses access at the next refresh', async () => {
    const client = new TestClient();
    await stack.login(client, 'bob', stack.url('app.test', '/'));
    expect((await client.request(stack.url('app.test', '/still-employed'))).status).toBe(200);
    stack.idp.disable('bob');
    const before = await authEvents(stack, 'refresh_fail');
    const reply = await client.navigate(stack.url('app.test', '/offboarded'));
    expect(reply.status).toBe(302);
    expect(reply.location).toContain('/.ztna/login');
    expect((await authEvents(stack, 'refresh_fail')) - before).toBe(1);
    expect(await stack.auditLine((l) => l.path === '/offboarded')).toMatchObject({
      decision: 'login',
      reason: 'refresh_rejected',
    });
  });

  test('an IdP that cannot be reached does not sign anyone out', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url('app.test', '/'));
    await stack.idp.close();
    const reply = await client.request(stack.url('app.test', '/idp-down'));
    expect(reply.status).toBe(200);
    await eventually(() =>
      stack.logLines.findLast((l) => l.msg === 'token refresh failed' && l.refused === false),
    );
  });
});

describe('step-up', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      idpExtra: '  mfa_acr_values: [urn:ztna:mfa]',
      routes: (upstream) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { groups: [engineering] } ] }
    rules:
      - path: /admin
        policy: { allow: [ { groups: [engineering], mfa: true } ] }
      - path: /fresh
        policy: { allow: [ { groups: [engineering], auth_max_age: 2s } ] }
`,
    });
  });
  afterAll(() => stack.close());

  test('MFA: the browser goes back to the IdP asking for it, then lands on the original URL', async () => {
    const client = new TestClient();
    expect((await stack.login(client, 'alice', stack.url('app.test', '/'))).status).toBe(200);
    const before = await authEvents(stack, 'step_up');
    const challenge = await client.navigate(stack.url('app.test', '/admin/users?page=2'));
    expect(challenge.status).toBe(302);
    expect(challenge.location).toBe(
      stack.url('app.test', '/.ztna/login?rd=%2Fadmin%2Fusers%3Fpage%3D2&step_up=1&mfa=1'),
    );
    const toIdp = await client.navigate(challenge.location!);
    const authorize = new URL(toIdp.location!);
    expect(authorize.searchParams.get('prompt')).toBe('login');
    expect(authorize.searchParams.get('acr_values')).toBe('urn:ztna:mfa');
    const done = await stack.login(client, 'alice', toIdp.location!, { otp: '246810' });
    expect(done.status).toBe(200);
    expect(stack.upstream.last().url).toBe('/admin/users?page=2');
    expect((await authEvents(stack, 'step_up')) - before).toBe(1);
    expect(await stack.auditLine((l) => l.path === '/admin/users')).toMatchObject({
      decision: 'allow',
      reason: 'allow:rule[0]',
    });
  });

  test('an API client gets 401 with the reason and a login URL that asks for MFA', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url('app.test', '/'));
    const reply = await client.request(stack.url('app.test', '/admin'), {
      headers: { accept: 'application/json' },
    });
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toContain('error="step_up_required"');
    expect(reply.json()).toMatchObject({
      error: 'ZTNA_ERR_STEP_UP_REQUIRED',
      reason: 'step_up:mfa',
    });
    expect(reply.json<{ login_url: string }>().login_url).toContain('step_up=1&mfa=1');
  });

  test('a step-up that brings no second factor ends on a page that says so, not in a loop', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url('app.test', '/'));
    const reply = await stack.login(client, 'alice', stack.url('app.test', '/admin'));
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('needs a sign-in with a second factor');
  });

  test('auth_max_age: an old sign-in is sent to authenticate again (max_age), then gets in', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url('app.test', '/'));
    await sleep(2200);
    const challenge = await client.navigate(stack.url('app.test', '/fresh'));
    expect(challenge.location).toBe(
      stack.url('app.test', '/.ztna/login?rd=%2Ffresh&step_up=1&max_age=2'),
    );
    const toIdp = await client.navigate(challenge.location!);
    expect(new URL(toIdp.location!).searchParams.get('max_age')).toBe('2');
    const done = await stack.login(client, 'alice', toIdp.location!);
    expect(done.status).toBe(200);
    expect(stack.upstream.last().url).toBe('/fresh');
  });
});
