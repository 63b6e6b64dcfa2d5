import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import signature from 'cookie-signature';
import { TestClient } from '../harness/http-client.js';
import type { Reply } from '../harness/http-client.js';
import { rawRequest } from '../harness/raw-http.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * Attacks on the session cookie, the login flow and logout (issue 7): tampered, truncated,
 * oversized and malformed cookies; session fixation; forced login with someone else's code;
 * callback replay; CSRF on logout.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    routes: (upstream) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy:
      allow:
        - emails: [alice@corp.example, bob@corp.example]
`,
  });
});
afterAll(() => stack.close());

const APP = () => stack.url('app.test', '/whoami');

async function signedIn(user: string): Promise<TestClient> {
  const client = new TestClient();
  expect((await stack.login(client, user, APP())).status).toBe(200);
  return client;
}

async function sessionCookie(client: TestClient): Promise<string> {
  const cookies = await client.jar.getCookies(APP());
  const cookie = cookies.find((c) => c.key === 'ztna_session');
  if (cookie === undefined) throw new Error('no session cookie');
  return cookie.value;
}

/** A request with exactly this Cookie header (no jar), as an API client: JSON, no redirects. */
function withCookieHeader(cookie: string): Promise<Reply> {
  return new TestClient().request(APP(), {
    noCookies: true,
    headers: { cookie, accept: 'application/json' },
  });
}

/** Who the upstream was told the request came from, or the status when it was not forwarded. */
async function whoIs(reply: Reply): Promise<string | number> {
  if (reply.status !== 200) return reply.status;
  return String(reply.json<{ headers: Record<string, string> }>().headers['x-forwarded-email']);
}

describe('the session cookie', () => {
  let alice: TestClient;
  let value: string;

  beforeAll(async () => {
    alice = await signedIn('alice');
    value = await sessionCookie(alice);
  });

  test('the real cookie works (the baseline the attacks below change one thing of)', async () => {
    expect(await whoIs(await withCookieHeader(`ztna_session=${value}`))).toBe('alice@corp.example');
  });

  test.each<[string, (v: string) => string]>([
    [
      'one character of the signature changed',
      (v) => v.slice(0, -1) + (v.endsWith('A') ? 'B' : 'A'),
    ],
    ['truncated', (v) => v.slice(0, Math.floor(v.length / 2))],
    ['signature removed', (v) => v.slice(0, v.lastIndexOf('.'))],
    [
      'unsigned session id',
      (v) => decodeURIComponent(v).slice(2, decodeURIComponent(v).lastIndexOf('.')),
    ],
    [
      'another session id with the same signature',
      (v) => {
        const raw = decodeURIComponent(v);
        return encodeURIComponent(`s:${'x'.repeat(32)}${raw.slice(raw.lastIndexOf('.'))}`);
      },
    ],
    [
      'signed with another secret',
      (v) => {
        const raw = decodeURIComponent(v);
        return encodeURIComponent(
          `s:${signature.sign(raw.slice(2, raw.lastIndexOf('.')), 'not-the-secret')}`,
        );
      },
    ],
    ['oversized (8 KiB)', (v) => v + 'A'.repeat(8 * 1024)],
    ['invalid percent-encoding', () => 's%3A%E0%A4%A.abc%ZZ'],
    ['empty', () => ''],
    ['quoted', (v) => `"${v}x"`],
    ['encoded control bytes', () => '%01%02%00%0d%0a'],
  ])('%s: no session (401), never an error, nothing forwarded', async (_name, tamper) => {
    const before = stack.upstream.seen.length;
    const reply = await withCookieHeader(`ztna_session=${tamper(value)}`);
    expect(reply.status).toBe(401);
    expect(reply.json()).toMatchObject({ error: 'ZTNA_ERR_AUTH_REQUIRED' });
    expect(stack.upstream.seen.length).toBe(before);
    // The real session is untouched by the attempts.
    expect(await whoIs(await alice.request(APP()))).toBe('alice@corp.example');
  });

  test('raw control bytes in the Cookie header are refused by the listener (400)', async () => {
    const reply = await rawRequest(
      stack.port,
      `GET /whoami HTTP/1.1\r\nHost: app.test\r\nCookie: ztna_session=\u0001\u0002\u007f\r\nConnection: close\r\n\r\n`,
    );
    expect(reply.status).toBe(400);
  });

  test('a malformed Cookie header is no session, not an error', async () => {
    for (const header of [';;;', '=;==;ztna_session', 'ztna_session', 'ztna_session==', '\t; ;']) {
      expect((await withCookieHeader(header)).status).toBe(401);
    }
  });

  test('a cookie over the header limit is refused whole (431), and the gateway keeps serving', async () => {
    expect((await withCookieHeader(`ztna_session=${'A'.repeat(20_000)}`)).status).toBe(431);
    expect(await whoIs(await alice.request(APP()))).toBe('alice@corp.example');
  });

  test('with two session cookies the first one counts, and a forged first one wins nothing', async () => {
    const bob = await sessionCookie(await signedIn('bob'));
    expect(await whoIs(await withCookieHeader(`ztna_session=${bob}; ztna_session=${value}`))).toBe(
      'bob@corp.example',
    );
    expect(await whoIs(await withCookieHeader(`ztna_session=forged; ztna_session=${value}`))).toBe(
      401,
    );
  });
});

describe('session fixation', () => {
  test('a cookie planted before login (even a valid one) is never the session after it', async () => {
    const mallory = await signedIn('bob'); // the attacker, with a real session of her own
    const planted = await sessionCookie(mallory);
    const victim = new TestClient();
    await victim.jar.setCookie(`ztna_session=${planted}; Path=/`, APP());
    // The victim signs in while carrying the attacker's cookie.
    const login = stack.url('app.test', '/.ztna/login?rd=%2Fwhoami');
    expect((await stack.login(victim, 'alice', login)).status).toBe(200);
    const after = await sessionCookie(victim);
    expect(after).not.toBe(planted);
    expect(await whoIs(await victim.request(APP()))).toBe('alice@corp.example');
    // The planted cookie never became alice's session.
    expect(await whoIs(await withCookieHeader(`ztna_session=${planted}`))).not.toBe(
      'alice@corp.example',
    );
  });

  test('a made-up session id is never adopted', async () => {
    const victim = new TestClient();
    const chosen = encodeURIComponent('s:attacker-chosen-session-id.AAAA');
    await victim.jar.setCookie(`ztna_session=${chosen}; Path=/`, APP());
    expect((await stack.login(victim, 'alice', APP())).status).toBe(200); // via a 302 to login
    expect(await sessionCookie(victim)).not.toBe(chosen);
    expect(await whoIs(await withCookieHeader(`ztna_session=${chosen}`))).toBe(401);
  });
});

describe('the login flow', () => {
  /** Runs a login up to the IdP's redirect back to us, and returns that callback URL unvisited. */
  async function callbackUrlFor(client: TestClient, user: string): Promise<string> {
    let reply = await client.navigate(stack.url('app.test', '/.ztna/login?rd=/'));
    for (let hop = 0; hop < 15; hop++) {
      const next = reply.location;
      if (next === undefined) throw new Error(`stuck at ${reply.status}`);
      if (new URL(next).pathname === '/.ztna/callback') return next;
      reply = await client.navigate(next);
      if (reply.status === 200 && /\/interaction\/[\w-]+$/.test(new URL(next).pathname)) {
        reply = await client.request(`${next}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body: new URLSearchParams({ username: user, password: `pw-${user}` }).toString(),
        });
      }
    }
    throw new Error('the IdP never redirected back');
  }

  test('forced login: an attacker’s callback URL (code and state) is refused in the victim’s browser', async () => {
    const attackerUrl = await callbackUrlFor(new TestClient(), 'bob');
    const victim = new TestClient();
    const reply = await victim.navigate(attackerUrl);
    expect(reply.status).toBe(400);
    expect(reply.text).toContain('Sign-in expired');
    expect((await victim.request(APP(), { headers: { accept: 'application/json' } })).status).toBe(
      401,
    );
  });

  test('forced login: a victim who started a login of their own is not signed in as the attacker', async () => {
    const attackerUrl = await callbackUrlFor(new TestClient(), 'bob');
    const victim = new TestClient();
    await victim.navigate(stack.url('app.test', '/.ztna/login?rd=/')); // has a login state cookie
    expect((await victim.navigate(attackerUrl)).status).toBe(400);
  });

  test('a callback URL works once: replaying it is refused', async () => {
    const client = new TestClient();
    const url = await callbackUrlFor(client, 'alice');
    expect((await client.navigate(url)).status).toBe(302);
    const replay = await client.navigate(url);
    expect(replay.status).toBe(400);
    // The first login stands.
    expect(await whoIs(await client.request(APP()))).toBe('alice@corp.example');
  });

  test('a tampered login-state cookie is refused', async () => {
    const client = new TestClient();
    const url = await callbackUrlFor(client, 'alice');
    for (const cookie of await client.jar.getCookies(url)) {
      if (cookie.key.startsWith('ztna_session_login_')) {
        cookie.value = cookie.value.slice(0, -4) + 'AAAA';
        await client.jar.setCookie(cookie, url);
      }
    }
    const reply = await client.navigate(url);
    expect(reply.status).toBe(400);
    expect(reply.text).toContain('Sign-in expired');
  });
});

describe('logout is not forgeable (CSRF)', () => {
  async function csrfOf(client: TestClient): Promise<string> {
    const page = await client.navigate(stack.url('app.test', '/.ztna/logout'));
    return /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
  }

  function postLogout(client: TestClient, body: string, headers: Record<string, string> = {}) {
    return client.request(stack.url('app.test', '/.ztna/logout'), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
        ...headers,
      },
      body,
    });
  }

  test('a GET (an <img> or a link on another site) never signs anyone out', async () => {
    const alice = await signedIn('alice');
    expect((await alice.navigate(stack.url('app.test', '/.ztna/logout'))).status).toBe(200);
    expect(await whoIs(await alice.request(APP()))).toBe('alice@corp.example');
  });

  test('a POST without the token, with another session’s token, or a token as a query is refused', async () => {
    const alice = await signedIn('alice');
    const bobsToken = await csrfOf(await signedIn('bob'));
    for (const [body, path] of [
      ['', ''],
      ['csrf=', ''],
      [`csrf=${encodeURIComponent(bobsToken)}`, ''],
      [`csrf[]=${encodeURIComponent(bobsToken)}`, ''],
    ]) {
      const reply = await postLogout(alice, body!, { origin: 'https://evil.example' });
      expect({ body, path, status: reply.status }).toEqual({ body, path, status: 403 });
    }
    expect(await whoIs(await alice.request(APP()))).toBe('alice@corp.example');
    // The token in a query string (a link) is not a form post.
    const own = await csrfOf(alice);
    const viaQuery = await alice.request(
      stack.url('app.test', `/.ztna/logout?csrf=${encodeURIComponent(own)}`),
      { method: 'POST', headers: { accept: 'text/html' } },
    );
    expect(viaQuery.status).toBe(403);
    expect(await whoIs(await alice.request(APP()))).toBe('alice@corp.example');
    // With its own token the form works.
    expect((await postLogout(alice, `csrf=${encodeURIComponent(own)}`)).status).toBe(303);
    expect((await alice.request(APP(), { headers: { accept: 'application/json' } })).status).toBe(
      401,
    );
  });
});
