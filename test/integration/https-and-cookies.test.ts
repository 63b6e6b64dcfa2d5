import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { startStack, TEST_CERT_FILE } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

const allowAll = (upstream: string, hosts: string[]) => `version: 1
routes:
${hosts
  .map(
    (host, i) => `  - name: r${i}
    host: ${host}
    upstream: ${upstream}
    policy:
      allow:
        - authenticated: true
`,
  )
  .join('')}`;

function cookieName(setCookie: string): string {
  return setCookie.slice(0, setCookie.indexOf('='));
}

describe('served over HTTPS', () => {
  let stack: Stack;
  const ca = readFileSync(TEST_CERT_FILE);
  beforeAll(async () => {
    stack = await startStack({ tls: true, routes: (u) => allowAll(u, ['app.test']) });
  });
  afterAll(() => stack.close());

  test('login works and the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/', async () => {
    const client = new TestClient(ca);
    const start = await client.navigate(stack.url('app.test', '/.ztna/login?rd=/'));
    const loginCookie = start.headers['set-cookie']!.find((c) => c.includes('_login_'))!;
    // SPEC §4.3: host-only on HTTPS, so __Host- (the browser then insists on Path=/, Secure
    // and no Domain, and no sibling host can set a cookie of that name).
    expect(cookieName(loginCookie)).toMatch(/^__Host-ztna_session_login_/);
    expect(loginCookie).toMatch(/; Path=\/;/);
    expect(loginCookie).toMatch(/; Secure/);
    expect(loginCookie).not.toMatch(/; Domain=/i);

    const reply = await stack.login(client, 'alice', stack.url('app.test', '/secure'));
    expect(reply.status).toBe(200);
    // The first login is still pending in the jar (Path=/ now): it never reaches the upstream.
    expect(await client.jar.getCookieString(stack.url('app.test', '/secure'))).toContain(
      '__Host-ztna_session_login_',
    );
    expect(String(stack.upstream.last().headers.cookie ?? '')).not.toContain('_login_');
    const cookies = await client.jar.getCookies(stack.url('app.test', '/'));
    const session = cookies.find((c) => c.key === '__Host-ztna_session');
    expect(session).toMatchObject({
      key: '__Host-ztna_session',
      secure: true,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      hostOnly: true,
    });
    expect(stack.upstream.last().headers['x-forwarded-proto']).toBe('https');
  });

  /** Bob's own login up to the IdP's redirect back: his callback URL and sealed login state. */
  async function attackerLogin(): Promise<{ callback: string; name: string; value: string }> {
    const attacker = new TestClient(ca);
    let reply = await attacker.navigate(stack.url('app.test', '/.ztna/login?rd=/'));
    const sealed = reply.headers['set-cookie']!.find((c) => c.includes('_login_'))!;
    for (let hop = 0; hop < 15 && reply.location !== undefined; hop++) {
      const next = reply.location;
      if (new URL(next).pathname === '/.ztna/callback') {
        const [name, value] = sealed.slice(0, sealed.indexOf(';')).split('=') as [string, string];
        return { callback: next, name, value };
      }
      reply = await attacker.navigate(next);
      if (reply.status === 200 && /\/interaction\/[\w-]+$/.test(new URL(next).pathname)) {
        reply = await attacker.request(`${next}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body: new URLSearchParams({ username: 'bob', password: 'pw-bob' }).toString(),
        });
      }
    }
    throw new Error('the IdP never redirected back');
  }

  test('a login state planted by a sibling subdomain (no __Host- prefix) is not accepted at the callback', async () => {
    const { callback, name, value } = await attackerLogin();
    const suffix = name.slice(name.indexOf('ztna_session_login_'));
    // What evil.test could set with Domain=.test: a plain or __Secure- cookie, never __Host-.
    for (const planted of [suffix, `__Secure-${suffix}`]) {
      const victim = new TestClient(ca);
      const reply = await victim.navigate(callback, { headers: { cookie: `${planted}=${value}` } });
      expect({ planted, status: reply.status }).toEqual({ planted, status: 400 });
      expect(reply.text).toContain('Sign-in expired');
      const cookies = await victim.jar.getCookies(stack.url('app.test', '/'));
      expect(
        cookies.some((c) => c.key.includes('ztna_session') && !c.key.includes('_login_')),
      ).toBe(false);
    }
    // The same sealed state under the gateway's own __Host- name does complete: the refusals
    // above are about the name a sibling can write, not a broken state.
    const owner = new TestClient(ca);
    const reply = await owner.navigate(callback, { headers: { cookie: `${name}=${value}` } });
    expect(reply.status).toBe(302);
  });
});

describe('behind a trusted proxy', () => {
  let stack: Stack;
  beforeAll(async () => {
    // 127.0.0.2 plays the load balancer; 127.0.0.1 is anyone else.
    stack = await startStack({
      gatewayExtra: 'trusted_proxies: [127.0.0.2/32]',
      routes: (u) => allowAll(u, ['app.test']),
    });
  });
  afterAll(() => stack.close());

  test('X-Forwarded-Proto: https from the proxy makes cookies Secure and __Host-', async () => {
    const reply = await new TestClient().navigate(stack.url('app.test', '/.ztna/login?rd=/'), {
      localAddress: '127.0.0.2',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(reply.status).toBe(302);
    expect(reply.headers['set-cookie']!.map(cookieName)[0]).toMatch(/^__Host-ztna_session_login_/);
    expect(new URL(reply.location!).searchParams.get('redirect_uri')).toBe(
      `https://app.test:${stack.port}/.ztna/callback`,
    );
  });

  test('the same header from anyone else is ignored', async () => {
    const reply = await new TestClient().navigate(stack.url('app.test', '/.ztna/login?rd=/'), {
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(reply.headers['set-cookie']!.map(cookieName)[0]).toMatch(/^ztna_session_login_/);
    expect(new URL(reply.location!).searchParams.get('redirect_uri')).toBe(
      `http://app.test:${stack.port}/.ztna/callback`,
    );
  });

  test('X-Forwarded-For of the proxy is extended; the audit names the real client', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url('app.test', '/'));
    await client.request(stack.url('app.test', '/via-proxy'), {
      localAddress: '127.0.0.2',
      headers: { 'x-forwarded-for': '198.51.100.7' },
    });
    expect(stack.upstream.last().headers['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.2');
    expect(await stack.auditLine((l) => l.path === '/via-proxy')).toMatchObject({
      client_ip: '198.51.100.7',
    });

    await client.request(stack.url('app.test', '/direct'), {
      headers: { 'x-forwarded-for': '198.51.100.7' },
    });
    expect(stack.upstream.last().headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(await stack.auditLine((l) => l.path === '/direct')).toMatchObject({
      client_ip: '127.0.0.1',
    });
  });
});

describe('with a cookie domain', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      sessionExtra: '  cookie_domain: .corp.test',
      routes: (u) => allowAll(u, ['a.corp.test', 'b.corp.test']),
    });
  });
  afterAll(() => stack.close());

  test('one login covers every host under the domain', async () => {
    const client = new TestClient();
    expect((await stack.login(client, 'alice', stack.url('a.corp.test', '/'))).status).toBe(200);
    const reply = await client.navigate(stack.url('b.corp.test', '/other'));
    expect(reply.status).toBe(200);
    expect(stack.upstream.last().headers['x-forwarded-user']).toBe('alice');
  });
});
