import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import pino from 'pino';
import type { SessionData } from 'express-session';
import { TestClient } from '../harness/http-client.js';
import { createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { startRedis } from '../harness/redis.js';
import type { TestRedis } from '../harness/redis.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { MemorySessionStore } from '../../src/session/memory-store.js';
import { createRedisClient, RedisSessionStore } from '../../src/session/redis-store.js';
import type { GatewayStore } from '../../src/session/store.js';

// Issue 12, item 1: a revocation or logout can never be undone by a request that was in
// flight and changes the session (device binding, token refresh). Run for both stores.

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

const session = (sub: string) =>
  ({
    cookie: { originalMaxAge: 3_600_000 },
    user: { sub, email: `${sub}@corp.example`, claims: { sub } },
    createdAt: Date.now(),
  }) as unknown as SessionData;

const set = (store: GatewayStore, sid: string, data: SessionData) =>
  new Promise<void>((resolve, reject) => store.set(sid, data, (e) => (e ? reject(e) : resolve())));
const get = (store: GatewayStore, sid: string) =>
  new Promise<SessionData | null | undefined>((resolve, reject) =>
    store.get(sid, (e, data) => (e ? reject(e) : resolve(data))),
  );

describe.each([
  ['memory', () => new MemorySessionStore(3_600_000)],
  [
    'redis',
    () =>
      new RedisSessionStore(
        createRedisClient(redis.url, pino({ level: 'silent' })),
        3_600_000,
        7_200_000,
      ),
  ],
] as const)('the %s store', (_kind, createStore) => {
  let store: GatewayStore;
  beforeAll(async () => {
    store = createStore();
    for (let i = 0; i < 50 && !(await store.ping()); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
  });
  afterAll(() => store.shutdown());

  test('an update writes a live session', async () => {
    await set(store, 'live-1', session('alice'));
    expect(await store.update('live-1', { ...session('alice'), deviceId: 'd-1' })).toBe(true);
    expect((await get(store, 'live-1'))?.deviceId).toBe('d-1');
  });

  test('an update never brings back a destroyed session', async () => {
    await set(store, 'gone-1', session('bob'));
    await new Promise<void>((resolve) => store.destroy('gone-1', () => resolve()));
    expect(await store.update('gone-1', { ...session('bob'), deviceId: 'd-1' })).toBe(false);
    expect(await get(store, 'gone-1')).toBeFalsy();
  });

  test('an update never brings back a revoked session, nor its index entry', async () => {
    await set(store, 'revoked-1', session('carol'));
    expect(await store.revokeUser('carol')).toEqual(['revoked-1']);
    expect(await store.update('revoked-1', session('carol'))).toBe(false);
    expect(await get(store, 'revoked-1')).toBeFalsy();
    expect(await store.listUserSessions('carol')).toEqual([]);
  });
});

describe.each(['memory', 'redis'] as const)(
  'through the gateway (%s store): a request in flight cannot undo a revocation',
  (kind) => {
    let stack: Stack;
    let mdm: PostureIssuer;
    let jwks: Server;
    beforeAll(async () => {
      mdm = await createPostureIssuer('https://mdm.test', 'ztna-gateway');
      // The posture issuer's keys arrive slowly: the first request with evidence is in flight
      // for that long, and binds the session's device when it lands.
      jwks = createServer((_req, res) =>
        setTimeout(
          () =>
            res
              .writeHead(200, { 'Content-Type': 'application/json' })
              .end(JSON.stringify(mdm.jwks())),
          800,
        ),
      );
      await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
      stack = await startStack({
        env: { TEST_REDIS_URL: redis.url },
        sessionExtra: kind === 'redis' ? '  store: redis\n  redis_url_env: TEST_REDIS_URL' : '',
        gatewayExtra: `posture:
  issuers:
    - issuer: https://mdm.test
      audience: ztna-gateway
      jwks_uri: http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
        routes: (upstream) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
`,
      });
    });
    afterAll(async () => {
      await stack.close();
      jwks.close();
      await mdm.close();
    });

    test('the binding request is refused and the cookie stays dead', async () => {
      const client = new TestClient();
      expect((await stack.login(client, 'bob', stack.url('app.test', '/'))).status).toBe(200);
      const json = { accept: 'application/json' };
      const inFlight = client.request(stack.url('app.test', '/in-flight'), {
        headers: { ...json, 'x-device-posture': await mdm.mint() },
      });
      await new Promise((resolve) => setTimeout(resolve, 250));
      const revoked = await new TestClient().request(stack.adminUrl('/admin/sessions?user=bob'), {
        method: 'DELETE',
      });
      expect(revoked.json()).toMatchObject({ revoked: 1 });
      expect((await inFlight).status).toBe(401);
      expect(
        (await client.request(stack.url('app.test', '/later'), { headers: json })).status,
      ).toBe(401);
      const listed = await new TestClient().request(stack.adminUrl('/admin/sessions?user=bob'));
      expect(listed.json()).toMatchObject({ sessions: [] });
      expect(await stack.auditLine((l) => l.path === '/in-flight')).toMatchObject({
        decision: 'login',
        reason: 'session_ended',
      });
    });
  },
);
