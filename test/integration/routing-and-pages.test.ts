import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { rawRequest as sendRaw } from '../harness/raw-http.js';
import { sampleValue, startStack, TEST_CERT_FILE } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

let stack: Stack;
let alice: TestClient;

beforeAll(async () => {
  stack = await startStack({
    routes: (upstream, tlsUpstream) => `version: 1
routes:
  - name: tls-ok
    host: tls-ok.test
    upstream: ${tlsUpstream}
    upstream_tls: { ca_file: ${TEST_CERT_FILE} }
    public: true
  - name: tls-unknown-ca
    host: tls-bad.test
    upstream: ${tlsUpstream}
    public: true
  - name: site
    host: site.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
  - name: api
    host: site.test
    path: /api
    strip_prefix: true
    upstream: ${upstream}/v2
    policy: { allow: [ { authenticated: true } ] }
  - name: legacy
    host: legacy.test
    upstream: ${upstream}
    preserve_host: true
    policy: { allow: [ { authenticated: true } ] }
  - name: nobody
    host: nobody.test
    upstream: ${upstream}
  - name: status
    host: status.test
    upstream: ${upstream}
    public: true
  - name: any
    host: "*.apps.test"
    upstream: ${upstream}
    public: true
`,
  });
  alice = new TestClient();
  expect((await stack.login(alice, 'alice', stack.url('site.test', '/'))).status).toBe(200);
  expect((await stack.login(alice, 'alice', stack.url('legacy.test', '/'))).status).toBe(200);
});

afterAll(() => stack.close());

/** Writes raw bytes so that no client library normalizes the request. */
async function rawRequest(bytes: string): Promise<string> {
  return (await sendRaw(stack.port, bytes)).raw;
}

describe('route options', () => {
  test('strip_prefix removes the route path; the upstream base path is prepended', async () => {
    await alice.request(stack.url('site.test', '/api/users/7?x=1'));
    expect(stack.upstream.last().url).toBe('/v2/users/7?x=1');
    expect(stack.upstream.last().headers['x-forwarded-prefix']).toBe('/api');
    await alice.request(stack.url('site.test', '/api'));
    expect(stack.upstream.last().url).toBe('/v2/');
  });

  test('the longest prefix wins on whole segments: /apis is not /api', async () => {
    await alice.request(stack.url('site.test', '/apis'));
    expect(stack.upstream.last().url).toBe('/apis');
  });

  test('without preserve_host the upstream sees its own host; with it, the client’s', async () => {
    await alice.request(stack.url('site.test', '/'));
    expect(stack.upstream.last().headers.host).toBe(`127.0.0.1:${stack.upstream.port}`);
    await alice.request(stack.url('legacy.test', '/'), {
      headers: { host: `LEGACY.test.:${stack.port}` },
    });
    expect(stack.upstream.last().headers.host).toBe(`legacy.test:${stack.port}`);
  });

  test('a route without a policy denies even signed-in users', async () => {
    const client = new TestClient();
    const reply = await stack.login(client, 'alice', stack.url('nobody.test', '/'));
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('not open to anyone yet');
  });

  test('public routes need no login, keep no session, and are still audited', async () => {
    const reply = await new TestClient().request(stack.url('status.test', '/health'));
    expect(reply.status).toBe(200);
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(stack.upstream.last().headers['x-forwarded-user']).toBeUndefined();
    expect(await stack.auditLine((l) => l.path === '/health')).toMatchObject({
      decision: 'public',
      reason: 'allow:public',
      status: 200,
    });
  });

  test('a wildcard route matches whole labels only', async () => {
    expect((await new TestClient().request(stack.url('x.apps.test', '/'))).status).toBe(200);
    expect((await new TestClient().request(stack.url('a.b.apps.test', '/'))).status).toBe(200);
    expect((await new TestClient().request(stack.url('evilapps.test', '/'))).status).toBe(404);
    expect((await new TestClient().request(stack.url('x.apps.test.evil', '/'))).status).toBe(404);
  });
});

describe('https upstreams', () => {
  test('are verified against upstream_tls.ca_file', async () => {
    const reply = await new TestClient().request(stack.url('tls-ok.test', '/over-tls'));
    expect(reply.status).toBe(200);
  });

  test('an unverifiable certificate is a 502 and a tls error, never a silent skip', async () => {
    const reply = await new TestClient().request(stack.url('tls-bad.test', '/'), {
      headers: { accept: 'application/json' },
    });
    expect(reply.status).toBe(502);
    expect(reply.json()).toMatchObject({ error: 'ZTNA_ERR_UPSTREAM_TLS' });
    expect(
      sampleValue(await stack.metrics(), 'ztna_upstream_errors_total', {
        route: 'tls-unknown-ca',
        kind: 'tls',
      }),
    ).toBe(1);
  });
});

describe('refusals', () => {
  test('an unknown host is a 404 page, reserved paths included', async () => {
    const reply = await new TestClient().request(stack.url('unknown.test', '/'), {
      headers: { accept: 'text/html' },
    });
    expect(reply.status).toBe(404);
    expect(reply.text).toContain('No application is published at this address.');
    expect((await new TestClient().request(stack.url('unknown.test', '/.ztna/login'))).status).toBe(
      404,
    );
  });

  test('an unknown reserved endpoint is a gateway 404, never forwarded', async () => {
    const before = stack.upstream.seen.length;
    const reply = await alice.request(stack.url('site.test', '/.ztna/nope'));
    expect(reply.status).toBe(404);
    expect(stack.upstream.seen.length).toBe(before);
  });

  test('a path that cannot be canonicalized is a 400, with the reason in the audit line', async () => {
    const reply = await rawRequest(
      `GET /a/%2e%2e/%2e%2e/etc HTTP/1.1\r\nHost: site.test:${stack.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(await stack.auditLine((l) => l.reason === 'bad_target:escapes_root')).toMatchObject({
      decision: 'error',
      status: 400,
    });
  });

  test('duplicate Host headers are refused', async () => {
    const reply = await rawRequest(
      `GET / HTTP/1.1\r\nHost: status.test:${stack.port}\r\nHost: site.test\r\nConnection: close\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  });

  test('an upgrade to anything but WebSocket (h2c smuggling) is refused before reaching the upstream', async () => {
    const before = stack.upstream.seen.length;
    const cookie = await alice.jar.getCookieString(stack.url('site.test', '/'));
    const reply = await rawRequest(
      `GET / HTTP/1.1\r\nHost: site.test:${stack.port}\r\nCookie: ${cookie}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toContain('ZTNA_ERR_REQUEST_BAD_UPGRADE');
    expect(stack.upstream.seen.length).toBe(before);
  });

  test('oversized headers are refused by the listener (431)', async () => {
    const reply = await rawRequest(
      `GET / HTTP/1.1\r\nHost: status.test\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
  });
});

describe('gateway pages and proxied responses', () => {
  test('gateway pages carry strict security headers; nothing says X-Powered-By', async () => {
    const reply = await new TestClient().request(stack.url('site.test', '/x'), {
      headers: { accept: 'application/json' },
    });
    expect(reply.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(reply.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['x-powered-by']).toBeUndefined();
  });

  test('proxied responses are the app’s own: no gateway CSP added', async () => {
    const reply = await alice.request(stack.url('site.test', '/page'));
    expect(reply.headers['x-upstream']).toBe('yes');
    expect(reply.headers['content-security-policy']).toBeUndefined();
    expect(reply.headers['x-powered-by']).toBeUndefined();
  });

  test('login redirects never leave the gateway’s hosts', async () => {
    for (const rd of [
      '//evil.example/',
      '/\\evil.example',
      'https://evil.example/',
      'https:evil.example',
      '/%2f%2fevil.example',
      'javascript:alert(1)',
      `http://site.test:${stack.port}@evil.example/`,
    ]) {
      const start = await alice.navigate(
        stack.url('site.test', `/.ztna/login?rd=${encodeURIComponent(rd)}`),
      );
      const final = await stack.login(alice, 'alice', start.location!);
      expect(final.status).toBe(200);
      expect(stack.upstream.last().headers['x-forwarded-host']).toBe(`site.test:${stack.port}`);
      expect(stack.upstream.last().url).toBe('/');
    }
  });

  test('a login may return to another route host', async () => {
    const start = await alice.navigate(
      stack.url(
        'site.test',
        `/.ztna/login?rd=${encodeURIComponent(stack.url('status.test', '/back'))}`,
      ),
    );
    const final = await stack.login(alice, 'alice', start.location!);
    expect(final.status).toBe(200);
    expect(stack.upstream.last()).toMatchObject({ url: '/back' });
    expect(stack.upstream.last().headers['x-forwarded-host']).toBe(`status.test:${stack.port}`);
  });
});

describe('/.ztna/me', () => {
  test('shows who you are, as HTML or JSON', async () => {
    const json = await alice.request(stack.url('site.test', '/.ztna/me'), {
      headers: { accept: 'application/json' },
    });
    expect(json.status).toBe(200);
    expect(json.json()).toMatchObject({
      user: { sub: 'alice', email: 'alice@corp.example', groups: ['engineering'] },
    });
    const html = await alice.navigate(stack.url('site.test', '/.ztna/me'));
    expect(html.text).toContain('alice@corp.example');
    const anonymous = await new TestClient().request(stack.url('site.test', '/.ztna/me'));
    expect(anonymous.status).toBe(401);
  });
});
