import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import WebSocket from 'ws';
import { eventually } from '../harness/eventually.js';
import { TestClient } from '../harness/http-client.js';
import { createClient } from 'redis';
import { startRedis } from '../harness/redis.js';
import type { TestRedis } from '../harness/redis.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

const routes = (upstream: string) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
  - name: status
    host: status.test
    upstream: ${upstream}
    public: true
`;

const adminOf =
  (stack: Stack) =>
  (path: string, method = 'GET') =>
    new TestClient().request(stack.adminUrl(path), { method });

async function signedIn(stack: Stack, user: string): Promise<TestClient> {
  const client = new TestClient();
  expect((await stack.login(client, user, stack.url('app.test', '/'))).status).toBe(200);
  return client;
}

/** Opens a WebSocket through the gateway and resolves once it is open; `closed` settles on close. */
function openSocket(
  stack: Stack,
  cookie: string,
): Promise<{ socket: WebSocket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${stack.port}/ws`, {
      headers: { host: `app.test:${stack.port}`, cookie },
    });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('open', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

describe('the sessions API (memory store)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ routes });
  });
  afterAll(() => stack.close());

  test('lists a user’s sessions by sub or email, without exposing session ids', async () => {
    const laptop = await signedIn(stack, 'alice');
    await signedIn(stack, 'alice');
    const cookie = (await laptop.jar.getCookies(stack.url('app.test', '/'))).find(
      (c) => c.key === 'ztna_session',
    )!.value;
    const bySub = (await adminOf(stack)('/admin/sessions?user=alice')).json<{
      sessions: Array<{ ref: string }>;
    }>();
    expect(bySub.sessions).toHaveLength(2);
    expect(bySub.sessions[0]).toMatchObject({ sub: 'alice', email: 'alice@corp.example' });
    expect(bySub.sessions[0]!.ref).toMatch(/^[0-9a-f]{16}$/);
    const byEmail = (await adminOf(stack)('/admin/sessions?user=ALICE@corp.example')).json<{
      sessions: unknown[];
    }>();
    expect(byEmail.sessions).toHaveLength(2);
    expect(JSON.stringify(bySub)).not.toContain(decodeURIComponent(cookie).slice(2, 20));
    expect((await adminOf(stack)('/admin/sessions')).status).toBe(400);
  });

  test('revocation ends every session of the user at once, open WebSockets included', async () => {
    const client = await signedIn(stack, 'bob');
    const other = await signedIn(stack, 'bob');
    const cookie = await client.jar.getCookieString(stack.url('app.test', '/ws'));
    const { closed } = await openSocket(stack, cookie);
    const before = sampleValue(await stack.metrics(), 'ztna_auth_events_total', {
      event: 'revoked',
    });
    const reply = await adminOf(stack)('/admin/sessions?user=bob', 'DELETE');
    expect(reply.json()).toEqual({ user: 'bob', revoked: 2, websockets_closed: 1 });
    await closed;
    expect((await client.request(stack.url('app.test', '/after'))).status).toBe(401);
    expect((await other.request(stack.url('app.test', '/after'))).status).toBe(401);
    expect(
      sampleValue(await stack.metrics(), 'ztna_auth_events_total', { event: 'revoked' }) - before,
    ).toBe(2);
    expect((await adminOf(stack)('/admin/sessions?user=bob')).json()).toEqual({
      user: 'bob',
      sessions: [],
    });
  });

  test('logging out closes that session’s WebSockets too', async () => {
    const client = await signedIn(stack, 'alice');
    const { closed } = await openSocket(
      stack,
      await client.jar.getCookieString(stack.url('app.test', '/ws')),
    );
    const confirm = await client.navigate(stack.url('app.test', '/.ztna/logout'));
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.text)![1]!;
    await client.request(stack.url('app.test', '/.ztna/logout'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf=${encodeURIComponent(csrf)}`,
    });
    await closed;
  });
});

describe('several instances sharing Redis', () => {
  let redis: TestRedis;
  let a: Stack;
  let b: Stack;
  beforeAll(async () => {
    redis = await startRedis();
    const redisOptions = {
      sessionExtra: '  store: redis\n  redis_url_env: TEST_REDIS_URL',
      env: { TEST_REDIS_URL: redis.url },
      routes,
    };
    a = await startStack(redisOptions);
    b = await startStack({ ...redisOptions, sharing: a });
  }, 30_000);
  afterAll(async () => {
    await b.close();
    await a.close();
    await redis.stop();
  });

  test('a login on one instance is a session on every instance', async () => {
    const client = await signedIn(a, 'alice');
    // Cookies are per host, not per port: the same browser reaches instance B with them.
    const reply = await client.request(b.url('app.test', '/on-b'));
    expect(reply.status).toBe(200);
    expect(b.upstream.last().headers['x-forwarded-user']).toBe('alice');
  });

  test('the store keeps no ID token: the logout hint travels sealed, and any instance opens it', async () => {
    const client = await signedIn(a, 'alice');
    const redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    try {
      const sid = decodeURIComponent(
        (await client.jar.getCookies(a.url('app.test', '/'))).find((c) => c.key === 'ztna_session')!
          .value,
      ).slice(2, -44);
      const stored = JSON.parse((await redisClient.get(`ztna:sess:${sid}`))!) as {
        tokens: Record<string, unknown>;
      };
      expect(typeof stored.tokens.refreshToken).toBe('string');
      expect(stored.tokens.idToken).toBeUndefined();
    } finally {
      await redisClient.quit();
    }
    // Signed in on A, signed out on B: B opens A's sealed hint (one session secret).
    const confirm = await client.navigate(b.url('app.test', '/.ztna/logout'));
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.text)![1]!;
    const done = await client.request(b.url('app.test', '/.ztna/logout'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: `csrf=${encodeURIComponent(csrf)}`,
    });
    const hint = new URL(done.location!).searchParams.get('id_token_hint');
    expect(JSON.parse(Buffer.from(hint!.split('.')[1]!, 'base64url').toString())).toMatchObject({
      sub: 'alice',
    });
  });

  test('revoking through one instance revokes everywhere, immediately', async () => {
    const client = await signedIn(a, 'bob');
    expect((await client.request(b.url('app.test', '/'))).status).toBe(200);
    expect(
      (await adminOf(b)('/admin/sessions?user=bob')).json<{ sessions: unknown[] }>().sessions,
    ).toHaveLength(1);
    expect((await adminOf(b)('/admin/sessions?user=bob', 'DELETE')).json()).toMatchObject({
      revoked: 1,
    });
    expect((await client.request(a.url('app.test', '/after-revoke'))).status).toBe(401);
  });

  test('when Redis goes away: not ready, session requests fail fast with 503, public routes serve on', async () => {
    const client = await signedIn(a, 'alice');
    await eventually(
      async () => ((await adminOf(a)('/readyz')).status === 200 ? true : undefined),
      8000,
    );
    await redis.stop();
    const readyz = await eventually(async () => {
      const reply = await adminOf(a)('/readyz');
      return reply.status === 503 ? reply.json() : undefined;
    }, 5000);
    expect(readyz).toMatchObject({ failing: ['session_store'] });
    const started = Date.now();
    const reply = await client.request(a.url('app.test', '/while-down'), {
      headers: { accept: 'application/json' },
    });
    expect(reply.status).toBe(503);
    expect(reply.json()).toMatchObject({ error: 'ZTNA_ERR_SESSION_STORE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await new TestClient().request(a.url('status.test', '/'))).status).toBe(200);

    await redis.start();
    await eventually(
      async () => ((await adminOf(a)('/readyz')).status === 200 ? true : undefined),
      10_000,
    );
  }, 30_000);
});
