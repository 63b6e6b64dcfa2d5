import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClient } from '../harness/http-client.js';
import { createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { rawUpgradeHead } from '../harness/raw-http.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { wsRoundTrip } from '../harness/ws-client.js';

// A WebSocket upgrade is a request like any other (SPEC §2): the same steps decide it, its
// answer is filtered like any response, and a cross-site page may not open one.

let stack: Stack;
let mdm: PostureIssuer;
let clock = Date.now();

const routes = (upstream: string) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    allowed_origins: [https://portal.test]
    policy: { allow: [ { email_domains: [corp.example] } ] }
`;

async function signedIn(user = 'alice'): Promise<{ client: TestClient; cookie: string }> {
  const client = new TestClient();
  await stack.login(client, user, stack.url('app.test', '/'));
  return { client, cookie: await client.jar.getCookieString(stack.url('app.test', '/')) };
}

beforeAll(async () => {
  mdm = await createPostureIssuer('https://mdm.test');
  const dir = await mkdtemp(join(tmpdir(), 'ztna-ws-'));
  await mdm.writeJwks(join(dir, 'mdm-jwks.json'));
  stack = await startStack({
    routes,
    now: () => clock,
    sessionExtra: '  max_age: 2h\n  idle_timeout: 2h',
    gatewayExtra: `posture:
  issuers:
    - issuer: https://mdm.test
      audience: ztna-gateway
      jwks_file: ${join(dir, 'mdm-jwks.json')}`,
  });
});
afterAll(async () => {
  await stack.close();
  await mdm.close();
});

describe("an upstream's answer to an upgrade is filtered like any response", () => {
  test('a 101 cannot plant the gateway session cookie; the app keeps its own cookies', async () => {
    const { cookie } = await signedIn();
    const head = await rawUpgradeHead(stack.port, 'app.test', '/ws?plant=ztna_session', {
      Cookie: cookie,
    });
    expect(head.status).toBe(101);
    expect(head.headers['set-cookie']).toBe('app_pref=dark; Path=/');
    expect(head.headers.upgrade).toBe('websocket');
  });

  test('a refusal cannot clear the gateway session cookie; its status reaches the client', async () => {
    const { cookie } = await signedIn();
    const head = await rawUpgradeHead(stack.port, 'app.test', '/ws?refuse=ztna_session', {
      Cookie: cookie,
    });
    expect(head.status).toBe(401);
    expect(head.headers['set-cookie']).toBeUndefined();
    expect(head.headers['x-app']).toBe('refused');
    expect(await stack.auditLine((l) => l.path === '/ws' && l.status === 401)).toMatchObject({
      decision: 'allow',
      websocket: true,
    });
  });

  test('identity headers the client sends are replaced by the gateway’s', async () => {
    const { cookie } = await signedIn();
    const outcome = await wsRoundTrip(stack.port, 'app.test', '/ws', cookie, 'hi', {
      'X-Forwarded-User': 'ceo',
      'X-Forwarded-Email': 'ceo@corp.example',
    });
    expect(outcome.reply).toBe('alice:hi');
    const seen = stack.upstream.last();
    expect(seen.headers['x-forwarded-email']).toBe('alice@corp.example');
    expect(seen.headers['x-ztna-assertion']).toBeDefined();
  });
});

describe('cross-site upgrades are refused (SPEC §2 Origin check)', () => {
  test.each([
    ['the route’s own origin', (port: number) => `http://app.test:${port}`, 'alice:o'],
    ['an origin in allowed_origins', () => 'https://portal.test', 'alice:o'],
  ])('%s may open a WebSocket', async (_name, origin, reply) => {
    const { cookie } = await signedIn();
    const outcome = await wsRoundTrip(stack.port, 'app.test', '/ws', cookie, 'o', {
      Origin: origin(stack.port),
    });
    expect(outcome.reply).toBe(reply);
  });

  test.each([
    ['another site', 'https://evil.example'],
    ['a sibling host', 'http://other.test'],
    ['the right host on another scheme', 'https://app.test'],
    ['an opaque origin', 'null'],
  ])('%s may not (403, audited as a denial)', async (_name, origin) => {
    const { cookie } = await signedIn();
    const before = stack.upstream.seen.length;
    const outcome = await wsRoundTrip(stack.port, 'app.test', '/ws', cookie, 'x', {
      Origin: origin,
    });
    expect(outcome.status).toBe(403);
    expect(stack.upstream.seen.length).toBe(before);
    expect(
      await stack.auditLine((l) => l.reason === 'cross_site_upgrade' && l.path === '/ws'),
    ).toMatchObject({ decision: 'deny', status: 403, websocket: true });
  });
});

describe('sessions end for upgrades exactly as for HTTP', () => {
  test('past the session max age the upgrade is refused and the session is gone', async () => {
    const { client, cookie } = await signedIn();
    clock += 3 * 3_600_000;
    try {
      expect(await wsRoundTrip(stack.port, 'app.test', '/ws', cookie, 'late')).toEqual({
        status: 401,
      });
      expect((await client.request(stack.url('app.test', '/after'))).status).toBe(401);
    } finally {
      clock = Date.now();
    }
  });

  test('a revoked session cannot open a WebSocket', async () => {
    const { cookie } = await signedIn('bob');
    await new TestClient().request(stack.adminUrl('/admin/sessions?user=bob'), {
      method: 'DELETE',
    });
    expect(await wsRoundTrip(stack.port, 'app.test', '/ws', cookie, 'gone')).toEqual({
      status: 401,
    });
  });

  test('an upgrade from another device ends the session (device binding)', async () => {
    const { client, cookie } = await signedIn();
    client.defaultHeaders = { 'X-Device-Posture': await mdm.mint(undefined, { sub: 'laptop-1' }) };
    expect((await client.request(stack.url('app.test', '/bind'))).status).toBe(200);
    const before = sampleValue(await stack.metrics(), 'ztna_auth_events_total', {
      event: 'revoked',
    });
    const stolen = await wsRoundTrip(stack.port, 'app.test', '/ws', cookie, 'x', {
      'X-Device-Posture': await mdm.mint(undefined, { sub: 'attacker-pc' }),
    });
    expect(stolen).toEqual({ status: 401 });
    expect(
      sampleValue(await stack.metrics(), 'ztna_auth_events_total', { event: 'revoked' }) - before,
    ).toBe(1);
    expect((await client.request(stack.url('app.test', '/after-theft'))).status).toBe(401);
  });
});

describe('a bound session without its device’s evidence, on upgrades (issue 12, item 2)', () => {
  test.each<[string, () => Promise<Record<string, string>>]>([
    ['no evidence', async () => ({})],
    ['a refused assertion', async () => ({ 'X-Device-Posture': mdm.unsigned() })],
    ['plain X-Device-Id from an untrusted peer', async () => ({ 'X-Device-Id': 'laptop-1' })],
  ])('%s: the upgrade is refused as device_missing and the session ends', async (_n, evidence) => {
    const { client, cookie } = await signedIn();
    const laptop = { 'X-Device-Posture': await mdm.mint(undefined, { sub: 'laptop-1' }) };
    client.defaultHeaders = laptop;
    expect((await client.request(stack.url('app.test', '/bind'))).status).toBe(200);
    const before = sampleValue(await stack.metrics(), 'ztna_auth_events_total', {
      event: 'revoked',
    });
    const path = `/ws-missing-${_n.length}`;
    expect(await wsRoundTrip(stack.port, 'app.test', path, cookie, 'x', await evidence())).toEqual({
      status: 401,
    });
    expect(await stack.auditLine((l) => l.path === path)).toMatchObject({
      decision: 'login',
      reason: 'device_missing',
      websocket: true,
    });
    expect(
      sampleValue(await stack.metrics(), 'ztna_auth_events_total', { event: 'revoked' }) - before,
    ).toBe(1);
    expect(await wsRoundTrip(stack.port, 'app.test', '/ws', cookie, 'x', laptop)).toEqual({
      status: 401,
    });
  });
});

describe('/.ztna/me applies the same session checks as a route (issue 12, item 3)', () => {
  const me = (client: TestClient, headers: Record<string, string> = {}) =>
    client.request(stack.url('app.test', '/.ztna/me'), {
      headers: { accept: 'application/json', ...headers },
    });

  test('past the absolute session lifetime it shows nothing and asks to sign in', async () => {
    const { client } = await signedIn();
    expect((await me(client)).status).toBe(200);
    clock += 3 * 3_600_000;
    try {
      const reply = await me(client);
      expect(reply.status).toBe(401);
      expect(reply.text).not.toContain('alice');
    } finally {
      clock = Date.now();
    }
  });

  test('from another device it ends the session instead of showing it', async () => {
    const { client } = await signedIn();
    const laptop = { 'X-Device-Posture': await mdm.mint(undefined, { sub: 'laptop-1' }) };
    expect((await me(client, laptop)).json()).toMatchObject({ session: { device_id: 'laptop-1' } });
    const stolen = await me(client, {
      'X-Device-Posture': await mdm.mint(undefined, { sub: 'attacker-pc' }),
    });
    expect(stolen.status).toBe(401);
    expect((await me(client, laptop)).status).toBe(401);
  });

  test('without its device’s evidence it ends the session instead of showing it (device_missing)', async () => {
    const { client } = await signedIn();
    const laptop = { 'X-Device-Posture': await mdm.mint(undefined, { sub: 'laptop-1' }) };
    expect((await me(client, laptop)).json()).toMatchObject({ session: { device_id: 'laptop-1' } });
    const bare = await me(client);
    expect(bare.status).toBe(401);
    expect(bare.text).not.toContain('alice');
    expect(await stack.auditLine((l) => l.path === '/.ztna/me' && l.status === 401)).toMatchObject({
      reason: 'device_missing',
    });
    expect((await me(client, laptop)).status).toBe(401);
  });
});

describe('expired IdP tokens are refreshed on upgrade', () => {
  let short: Stack;
  beforeAll(async () => {
    short = await startStack({ idp: { accessTokenTtlSeconds: 5 }, routes });
  });
  afterAll(() => short.close());

  test('a refresh the IdP refuses (user disabled) ends the session on the upgrade', async () => {
    const client = new TestClient();
    await short.login(client, 'bob', short.url('app.test', '/'));
    const cookie = await client.jar.getCookieString(short.url('app.test', '/'));
    expect((await wsRoundTrip(short.port, 'app.test', '/ws', cookie, 'a')).reply).toBe('bob:a');
    short.idp.disable('bob');
    const before = sampleValue(await short.metrics(), 'ztna_auth_events_total', {
      event: 'refresh_fail',
    });
    expect(await wsRoundTrip(short.port, 'app.test', '/ws', cookie, 'b')).toEqual({ status: 401 });
    expect(
      sampleValue(await short.metrics(), 'ztna_auth_events_total', { event: 'refresh_fail' }) -
        before,
    ).toBe(1);
    expect(
      await short.auditLine((l) => l.path === '/ws' && l.reason === 'refresh_rejected'),
    ).toMatchObject({ decision: 'login', websocket: true });
  });

  test('a refresh the IdP grants lets the upgrade through', async () => {
    const client = new TestClient();
    await short.login(client, 'alice', short.url('app.test', '/'));
    const cookie = await client.jar.getCookieString(short.url('app.test', '/'));
    const before = sampleValue(await short.metrics(), 'ztna_auth_events_total', {
      event: 'refresh_ok',
    });
    expect((await wsRoundTrip(short.port, 'app.test', '/ws', cookie, 'c')).reply).toBe('alice:c');
    expect(
      sampleValue(await short.metrics(), 'ztna_auth_events_total', { event: 'refresh_ok' }) -
        before,
    ).toBe(1);
  });
});
