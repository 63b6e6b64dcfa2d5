import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { eventually } from '../harness/eventually.js';
import { openSocket } from '../harness/raw-http.js';
import { TestClient } from '../harness/http-client.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { wsRoundTrip } from '../harness/ws-client.js';

const APP = 'app.test';
const ENG = 'eng.test';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    routes: (upstream) => `version: 1
routes:
  - name: app
    host: ${APP}
    upstream: ${upstream}
    timeout: 400ms
    policy:
      allow:
        - email_domains: [corp.example]
  - name: eng
    host: ${ENG}
    upstream: ${upstream}
    policy:
      allow:
        - groups: [engineering]
  - name: down
    host: down.test
    upstream: http://127.0.0.1:1
    policy:
      allow:
        - authenticated: true
`,
  });
});

afterAll(async () => {
  await stack.close();
});

/** The claims of a JWT, unverified (the test only reads whose token it is). */
function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

async function loggedIn(user: string, host = APP): Promise<TestClient> {
  const client = new TestClient();
  const reply = await stack.login(client, user, stack.url(host, '/'));
  expect(reply.status).toBe(200);
  return client;
}

describe('without a session', () => {
  test('a browser navigation is sent to log in, remembering where it was going', async () => {
    const reply = await new TestClient().navigate(stack.url(APP, '/docs/page?x=1&y=2'));
    expect(reply.status).toBe(302);
    expect(reply.location).toBe(stack.url(APP, '/.ztna/login?rd=%2Fdocs%2Fpage%3Fx%3D1%26y%3D2'));
  });

  test('an API client gets 401 with a WWW-Authenticate challenge and JSON', async () => {
    const reply = await new TestClient().request(stack.url(APP, '/api'), {
      headers: { accept: 'application/json' },
    });
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toMatch(
      /^ZTNA realm="ztna-gateway", login_url="http:\/\/app\.test:\d+\/\.ztna\/login\?rd=%2Fapi"$/,
    );
    expect(reply.json()).toMatchObject({ error: 'ZTNA_ERR_AUTH_REQUIRED' });
  });

  test('a POST is never redirected (its body would be lost): 401', async () => {
    const reply = await new TestClient().request(stack.url(APP, '/form'), {
      method: 'POST',
      headers: { accept: 'text/html' },
      body: 'a=1',
    });
    expect(reply.status).toBe(401);
  });

  test('no request reaches the upstream', async () => {
    const before = stack.upstream.seen.length;
    await new TestClient().request(stack.url(APP, '/secret'));
    expect(stack.upstream.seen.length).toBe(before);
  });
});

describe('login', () => {
  test('the full flow ends on the original URL, served by the upstream with identity headers', async () => {
    const client = new TestClient();
    const reply = await stack.login(client, 'alice', stack.url(APP, '/start?tab=2'));
    expect(reply.status).toBe(200);
    const seen = stack.upstream.last();
    expect(seen.url).toBe('/start?tab=2');
    expect(seen.headers['x-forwarded-user']).toBe('alice');
    expect(seen.headers['x-forwarded-email']).toBe('alice@corp.example');
    expect(seen.headers['x-forwarded-groups']).toBe('engineering');
    expect(seen.headers['x-forwarded-host']).toBe(`${APP}:${stack.port}`);
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('the session cookie is HttpOnly, SameSite=Lax, host-only, and never reaches the upstream', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url(APP, '/'));
    const cookies = await client.jar.getCookies(stack.url(APP, '/'));
    const session = cookies.find((c) => c.key === 'ztna_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'lax', hostOnly: true, path: '/' });
    await client.request(stack.url(APP, '/check'), { headers: { cookie: 'app_pref=dark' } });
    const seen = stack.upstream.last();
    expect(seen.headers.cookie).toBe('app_pref=dark');
  });

  test('the session is for one host: another route host logs in separately', async () => {
    const client = await loggedIn('alice');
    const reply = await client.navigate(stack.url(ENG, '/'));
    expect(reply.status).toBe(302);
    expect(reply.location).toContain('/.ztna/login');
  });

  test('logging in twice yields a new session id (ids are regenerated at login)', async () => {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url(APP, '/'));
    const first = (await client.jar.getCookies(stack.url(APP, '/'))).find(
      (c) => c.key === 'ztna_session',
    )?.value;
    await stack.login(client, 'alice', stack.url(APP, '/.ztna/login?rd=/'));
    const second = (await client.jar.getCookies(stack.url(APP, '/'))).find(
      (c) => c.key === 'ztna_session',
    )?.value;
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
  });

  test('a callback without this browser’s login state is refused', async () => {
    const client = new TestClient();
    const reply = await client.navigate(stack.url(APP, '/.ztna/callback?code=abc&state=forged'));
    expect(reply.status).toBe(400);
    expect(reply.text).toContain('Sign-in expired');
  });

  test('an IdP error at the callback is a clear refusal, not a crash', async () => {
    const client = new TestClient();
    const start = await client.navigate(stack.url(APP, '/.ztna/login?rd=/'));
    const state = new URL(start.location!).searchParams.get('state')!;
    const reply = await client.navigate(
      stack.url(APP, `/.ztna/callback?error=access_denied&state=${state}`),
    );
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('Sign-in refused');
  });
});

describe('policy', () => {
  test('deny: bob (sales) may not open the engineering app; HTML and JSON answers', async () => {
    const client = new TestClient();
    const reply = await stack.login(client, 'bob', stack.url(ENG, '/'));
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('Access denied');
    expect(reply.text).toMatch(/Request id: <span class="mono">[0-9a-f-]{36}<\/span>/);
    const json = await client.request(stack.url(ENG, '/api'), {
      headers: { accept: 'application/json' },
    });
    expect(json.status).toBe(403);
    expect(json.json()).toMatchObject({
      error: 'ZTNA_ERR_POLICY_DENIED',
      reason: 'deny:no_rule_matched',
      route: 'eng',
    });
  });

  test('an unverified email matches no email rule', async () => {
    const client = new TestClient();
    const reply = await stack.login(client, 'mallory', stack.url(APP, '/'));
    expect(reply.status).toBe(403);
  });

  test('every decision is audited and counted', async () => {
    const before = await stack.metrics();
    const client = new TestClient();
    await stack.login(client, 'bob', stack.url(ENG, '/audited'));
    const labels = { route: 'eng', decision: 'deny', code: '403' };
    const delta = async () =>
      sampleValue(await stack.metrics(), 'ztna_requests_total', labels) -
      sampleValue(before, 'ztna_requests_total', labels);
    await eventually(async () => ((await delta()) >= 1 ? true : undefined));
    expect(await delta()).toBe(1);
    const line = await stack.auditLine((l) => l.path === '/audited' && l.decision === 'deny');
    expect(line).toMatchObject({
      route: 'eng',
      sub: 'bob',
      email: 'bob@corp.example',
      reason: 'deny:no_rule_matched',
      status: 403,
      auth: 'session',
    });
  });
});

describe('what the upstream receives', () => {
  test('client-supplied identity headers are stripped and replaced, in any spelling', async () => {
    const client = await loggedIn('alice');
    await client.request(stack.url(APP, '/spoof'), {
      headers: {
        'X-Forwarded-User': 'ceo',
        'X-Forwarded-Email': 'ceo@corp.example',
        X_Forwarded_Groups: 'admins',
        'X-ZTNA-Assertion': 'forged',
        'X-Device-Managed': 'true',
        'X-Forwarded-For': '10.9.9.9',
        'X-Real-IP': '10.9.9.9',
        'X-Original-URL': '/admin',
        Connection: 'x-keep-me',
        'X-Keep-Me': 'hop-by-hop',
      },
    });
    const seen = stack.upstream.last();
    expect(seen.url).toBe('/spoof');
    expect(seen.headers['x-forwarded-user']).toBe('alice');
    expect(seen.headers['x-forwarded-email']).toBe('alice@corp.example');
    expect(seen.headers['x-forwarded-groups']).toBe('engineering');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const forbidden of [
      'x_forwarded_groups',
      'x-device-managed',
      'x-real-ip',
      'x-original-url',
      'x-keep-me',
    ]) {
      expect(names).not.toContain(forbidden);
    }
    expect(names.filter((n) => n === 'x-forwarded-user')).toHaveLength(1);
    // The gateway's own signed assertion replaces the forged one.
    expect(names.filter((n) => n === 'x-ztna-assertion')).toHaveLength(1);
    expect(seen.headers['x-ztna-assertion']).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  test('request bodies stream through byte for byte', async () => {
    const client = await loggedIn('alice');
    const body = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const reply = await client.request(stack.url(APP, '/upload'), {
      method: 'PUT',
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(reply.status).toBe(200);
    const seen = stack.upstream.last();
    expect(seen.body.equals(body)).toBe(true);
  });

  test('large responses stream back whole', async () => {
    const client = await loggedIn('alice');
    const reply = await client.request(stack.url(APP, '/stream?bytes=5000000'));
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(5_000_000);
  });

  test('an upstream cannot set or clear the gateway session cookie', async () => {
    const client = await loggedIn('alice');
    const reply = await client.request(stack.url(APP, '/set-cookie?name=ztna_session'), {
      noCookies: false,
    });
    expect(reply.headers['set-cookie']).toEqual(['app_pref=dark; Path=/']);
    expect((await client.request(stack.url(APP, '/still-in'))).status).toBe(200);
  });

  test.each([
    ['behind a comma, for clients that split a Set-Cookie line there', 'theme=dark, ztna_session'],
    [
      'as a nameless cookie behind a comma, which such a client sends back as its value',
      'theme=dark, =ztna_session',
    ],
    ['behind a NEL, which a Python client trims like a space', '\x85ztna_session'],
    [
      'as a second cookie in the line, which aiohttp and SimpleCookie read',
      'theme=dark; ztna_session',
    ],
  ])('nor %s', async (_case, planted) => {
    const client = await loggedIn('alice');
    const name = encodeURIComponent(planted);
    const reply = await client.request(stack.url(APP, `/set-cookie?name=${name}`));
    expect(reply.headers['set-cookie']).toEqual(['app_pref=dark; Path=/']);
  });

  test("an upstream cannot fill the gateway's own pages with cookies (431 on sign-in and sign-out)", async () => {
    const client = await loggedIn('alice');
    for (const path of ['/.ztna/logout', '/.ztna/callback', '/.ztna']) {
      const reply = await client.request(
        stack.url(APP, `/set-cookie?name=pad&path=${encodeURIComponent(path)}`),
      );
      expect(reply.headers['set-cookie']).toEqual(['app_pref=dark; Path=/']);
    }
    const cookies = await client.jar.getCookieString(stack.url(APP, '/.ztna/logout'));
    expect(cookies).not.toContain('pad=');
  });

  test("an upstream cannot have the browser delete the gateway's cookies (Clear-Site-Data)", async () => {
    const client = await loggedIn('alice');
    // `"cook ies"`: Firefox deletes whitespace inside a directive before comparing it.
    for (const value of ['"cookies"', '"*"', '"cache", "cookies"', '"cook ies"']) {
      const reply = await client.request(
        stack.url(APP, `/clear-site-data?value=${encodeURIComponent(value)}`),
      );
      expect(reply.status).toBe(200);
      expect(reply.headers['clear-site-data']).toBeUndefined();
    }
    const cacheOnly = await client.request(
      stack.url(APP, `/clear-site-data?value=${encodeURIComponent('"cache"')}`),
    );
    expect(cacheOnly.headers['clear-site-data']).toBe('"cache"');
  });

  test('the canonical path is what the upstream sees', async () => {
    const client = await loggedIn('alice');
    await client.request(stack.url(APP, '/a/./b/../c//d?q=%2F..'));
    expect(stack.upstream.last().url).toBe('/a/c/d?q=%2F..');
  });
});

describe('logout', () => {
  test('GET shows a confirm form; POST needs its CSRF token; then the old cookie is worthless', async () => {
    const client = await loggedIn('alice');
    const stolen = await client.jar.getCookieString(stack.url(APP, '/'));
    const confirm = await client.navigate(stack.url(APP, '/.ztna/logout'));
    expect(confirm.status).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.text)?.[1];
    expect(csrf).toBeDefined();

    const forged = await client.request(stack.url(APP, '/.ztna/logout'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: 'csrf=wrong',
    });
    expect(forged.status).toBe(403);
    expect((await client.request(stack.url(APP, '/still-signed-in'))).status).toBe(200);

    const done = await client.request(stack.url(APP, '/.ztna/logout'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: `csrf=${encodeURIComponent(csrf!)}`,
    });
    expect(done.status).toBe(303);
    // RP-initiated logout at the IdP, which returns to our signed-out page.
    const endSession = new URL(done.location!);
    expect(endSession.origin).toBe(stack.idp.issuer);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(
      stack.url(APP, '/.ztna/signed-out'),
    );
    // The hint is the ID token the IdP issued at this login, kept sealed in a cookie.
    const hint = endSession.searchParams.get('id_token_hint')!;
    expect(claimsOf(hint)).toMatchObject({ iss: stack.idp.issuer, sub: 'alice' });
    expect(done.headers['set-cookie']?.join('\n')).toMatch(/ztna_session_hint=;.*Path=\/\.ztna\//);

    const replay = await new TestClient().request(stack.url(APP, '/after-logout'), {
      headers: { cookie: stolen, accept: 'text/html' },
    });
    expect(replay.status).toBe(302);
    expect(replay.location).toContain('/.ztna/login');
  });
});

describe('the logout hint (the ID token, sealed in a cookie for /.ztna/ only)', () => {
  const hintCookie = async (client: TestClient) =>
    (await client.jar.getCookies(stack.url(APP, '/.ztna/logout'))).find(
      (cookie) => cookie.key === 'ztna_session_hint',
    );

  async function logoutUrl(client: TestClient): Promise<URL> {
    const confirm = await client.navigate(stack.url(APP, '/.ztna/logout'));
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.text)![1]!;
    const done = await client.request(stack.url(APP, '/.ztna/logout'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: `csrf=${encodeURIComponent(csrf)}`,
    });
    expect(done.status).toBe(303);
    return new URL(done.location!);
  }

  test('is set at login for the gateway paths only, never reaches an upstream, cannot be read', async () => {
    const client = await loggedIn('alice');
    const cookie = await hintCookie(client);
    expect(cookie).toMatchObject({ path: '/.ztna/logout', httpOnly: true, sameSite: 'lax' });
    // Only the logout page gets it: signing in again never carries an old or large one.
    for (const page of ['/.ztna/login', '/.ztna/callback', '/.ztna/me'])
      expect((await client.jar.getCookieString(stack.url(APP, page))).includes('_hint')).toBe(
        false,
      );
    expect(cookie!.value).not.toContain('alice');
    // Not sent with proxied requests; sent by hand, it is stripped like every gateway cookie.
    expect((await client.jar.getCookieString(stack.url(APP, '/page'))).includes('_hint')).toBe(
      false,
    );
    const session = await client.jar.getCookieString(stack.url(APP, '/page'));
    const reply = await client.request(stack.url(APP, '/page'), {
      noCookies: true,
      headers: { cookie: `${session}; ztna_session_hint=${cookie!.value}; app=1` },
    });
    expect(reply.status).toBe(200);
    expect(stack.upstream.last().headers.cookie).toBe('app=1');
  });

  test("another session's hint is never sent: the IdP is not told to end someone else's session", async () => {
    const alice = await loggedIn('alice');
    const bob = await loggedIn('bob');
    const bobsHint = (await hintCookie(bob))!.value;
    await alice.jar.setCookie(
      `ztna_session_hint=${bobsHint}; Path=/.ztna/logout; HttpOnly`,
      stack.url(APP, '/.ztna/logout'),
    );
    expect((await hintCookie(alice))!.value).toBe(bobsHint);
    const endSession = await logoutUrl(alice);
    expect(endSession.origin).toBe(stack.idp.issuer);
    expect(endSession.searchParams.get('id_token_hint')).toBeNull();
    // Bob's own logout still carries his.
    expect(claimsOf((await logoutUrl(bob)).searchParams.get('id_token_hint')!).sub).toBe('bob');
  });

  test('a flood of hint cookies costs at most four decryptions: the real one after them is not reached', async () => {
    async function hintAfter(junk: number): Promise<string | null> {
      const client = await loggedIn('alice');
      const confirm = await client.navigate(stack.url(APP, '/.ztna/logout'));
      const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.text)![1]!;
      const session = (await client.jar.getCookies(stack.url(APP, '/'))).find(
        (c) => c.key === 'ztna_session',
      )!.value;
      const planted = Array.from({ length: junk }, (_, i) => `ztna_session_hint=junk${i}`);
      const done = await client.request(stack.url(APP, '/.ztna/logout'), {
        method: 'POST',
        noCookies: true,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'text/html',
          cookie: [
            `ztna_session=${session}`,
            ...planted,
            `ztna_session_hint=${(await hintCookie(client))!.value}`,
          ].join('; '),
        },
        body: `csrf=${encodeURIComponent(csrf)}`,
      });
      expect(done.status).toBe(303);
      return new URL(done.location!).searchParams.get('id_token_hint');
    }
    expect(claimsOf((await hintAfter(3))!).sub).toBe('alice');
    expect(await hintAfter(4)).toBeNull();
  });

  test("a cross-site form's sign-out leaves the hint: the person's own sign-out still sends it", async () => {
    const client = await loggedIn('alice');
    expect(await hintCookie(client)).toBeDefined();
    // evil.example submits <form method=post action=".../.ztna/logout"> in a top-level window:
    // the browser sends no SameSite=Lax cookie (neither the session nor the hint), but keeps
    // whatever the answer sets.
    const forged = await client.request(stack.url(APP, '/.ztna/logout'), {
      method: 'POST',
      noCookies: true,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'navigate',
      },
      body: '',
    });
    expect(forged.status).toBe(303);
    expect(forged.headers.location).toBe(stack.url(APP, '/.ztna/signed-out'));
    for (const line of forged.headers['set-cookie'] ?? [])
      await client.jar.setCookie(line, stack.url(APP, '/.ztna/logout'));
    expect(await hintCookie(client)).toBeDefined();
    expect((await client.request(stack.url(APP, '/still-in'))).status).toBe(200);
    expect(claimsOf((await logoutUrl(client)).searchParams.get('id_token_hint')!).sub).toBe(
      'alice',
    );
  });
});

describe('upstream failures', () => {
  test('connect failure → 502; slow upstream → 504; the gateway keeps serving', async () => {
    const down = new TestClient();
    const reply = await stack.login(down, 'alice', stack.url('down.test', '/'));
    expect(reply.status).toBe(502);
    expect(reply.text).toContain('Application unreachable');

    const client = await loggedIn('alice');
    const slow = await client.request(stack.url(APP, '/slow?ms=3000'));
    expect(slow.status).toBe(504);
    const metrics = await stack.metrics();
    expect(
      sampleValue(metrics, 'ztna_upstream_errors_total', { route: 'down', kind: 'connect' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(metrics, 'ztna_upstream_errors_total', { route: 'app', kind: 'timeout' }),
    ).toBeGreaterThanOrEqual(1);
    expect((await client.request(stack.url(APP, '/fine'))).status).toBe(200);
  });

  test('a client that goes away cancels its upstream request (audited as 499)', async () => {
    const client = await loggedIn('alice');
    const cookie = await client.jar.getCookieString(stack.url(APP, '/'));
    const socket = await openSocket(stack.port);
    socket.on('error', () => undefined);
    socket.write(
      `GET /slow?ms=20000&abort=1 HTTP/1.1\r\nHost: ${APP}:${stack.port}\r\nCookie: ${cookie}\r\n\r\n`,
    );
    await eventually(() => stack.upstream.seen.find((r) => r.url.includes('abort=1')));
    socket.destroy();
    // Long before the upstream would have answered, it sees its request cancelled.
    expect(
      await eventually(() => stack.upstream.abandoned.find((url) => url.includes('abort=1'))),
    ).toContain('/slow');
    expect(await stack.auditLine((l) => l.path === '/slow' && l.status === 499)).toMatchObject({
      decision: 'allow',
    });
  });
});

describe('WebSockets', () => {
  test('pass through with a session, carrying the identity', async () => {
    const client = await loggedIn('alice');
    const cookie = await client.jar.getCookieString(stack.url(APP, '/ws'));
    const result = await wsRoundTrip(stack.port, APP, '/ws', cookie, 'ping');
    expect(result).toEqual({ reply: 'alice:ping' });
  });

  test('are refused without a session (401) and for a denied user (403)', async () => {
    expect(await wsRoundTrip(stack.port, APP, '/ws', undefined, 'ping')).toEqual({ status: 401 });
    const bob = new TestClient();
    expect((await stack.login(bob, 'bob', stack.url(ENG, '/'))).status).toBe(403);
    const cookie = await bob.jar.getCookieString(stack.url(ENG, '/ws'));
    expect(await wsRoundTrip(stack.port, ENG, '/ws', cookie, 'ping')).toEqual({ status: 403 });
  });
});
