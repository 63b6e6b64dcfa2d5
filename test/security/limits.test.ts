import { request } from 'node:http';
import type { ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { openSocket, parseRawReply, rawRequest, readUntilClose } from '../harness/raw-http.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * What one client may cost the gateway (issue 7, "Limits"): bounded headers, deadlines for
 * slow senders (slowloris), a per-IP limit on failed sign-ins (issue 12: successful ones never
 * count, so an office behind one NAT address is never throttled), and streaming with
 * back-pressure so that a slow reader or writer never makes the gateway buffer a whole body.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ROUTES = (upstream: string) => `version: 1
routes:
  - name: site
    host: site.test
    upstream: ${upstream}
    public: true
  - name: app
    host: app.test
    upstream: ${upstream}
    policy:
      allow:
        - emails: [alice@corp.example]
`;

describe('listener limits and the failed-sign-in limit', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      routes: ROUTES,
      gatewayExtra: 'trusted_proxies: [127.0.0.40/32]',
      limits: `  max_header_bytes: 8192
  header_timeout: 1s
  request_timeout: 3s
  failed_signins_per_minute: 5`,
    });
  });
  afterAll(() => stack.close());

  test('the configured header limit applies: 6 KiB passes, 10 KiB is refused (431)', async () => {
    const head = (bytes: number) =>
      `GET / HTTP/1.1\r\nHost: site.test\r\nX-Pad: ${'a'.repeat(bytes)}\r\nConnection: close\r\n\r\n`;
    expect((await rawRequest(stack.port, head(6 * 1024))).status).toBe(200);
    const before = stack.upstream.seen.length;
    expect((await rawRequest(stack.port, head(10 * 1024))).status).toBe(431);
    expect(stack.upstream.seen.length).toBe(before);
  });

  test('slowloris: a request head trickling in is cut off at header_timeout', async () => {
    const socket = await openSocket(stack.port);
    const closed = readUntilClose(socket);
    const started = Date.now();
    socket.write('GET / HTTP/1.1\r\nHost: site.test\r\n');
    // One header every 200 ms keeps the connection busy but never finishes the head.
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Drip-${Date.now()}: 1\r\n`);
    }, 200);
    const reply = parseRawReply(await closed);
    clearInterval(drip);
    const elapsed = Date.now() - started;
    expect(reply.status).toBe(408);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(2500);
  });

  test('a body trickling in is cut off at request_timeout', async () => {
    const socket = await openSocket(stack.port);
    const closed = readUntilClose(socket);
    const started = Date.now();
    socket.write(
      'POST /upload HTTP/1.1\r\nHost: site.test\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\n',
    );
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write('x'.repeat(10));
    }, 200);
    await closed;
    clearInterval(drip);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(2900);
    expect(elapsed).toBeLessThan(5000);
  });

  /** A callback with a state no login of this browser started: a failed sign-in. */
  const BOGUS_CALLBACK = '/.ztna/callback?code=c&state=s';
  /**
   * The login-state cookie an attacker sends along with it: forged, it cannot be opened. A
   * callback without any login-state cookie is not counted (a cross-site <img> sends those).
   */
  const FORGED_STATE_COOKIE = 'ztna_session_login_s=forged-sealed-state';

  async function signInStatus(path: string, localAddress: string, xff?: string) {
    const client = new TestClient();
    const reply = await client.request(stack.url('app.test', path), {
      localAddress,
      headers: {
        accept: 'text/html',
        ...(path === BOGUS_CALLBACK && { cookie: FORGED_STATE_COOKIE }),
        ...(xff !== undefined && { 'x-forwarded-for': xff }),
      },
    });
    return reply;
  }

  /** A browser at `address` with a login started: its state, as the IdP would send it back. */
  async function startedLogin(address: string): Promise<{ client: TestClient; state: string }> {
    const client = new TestClient();
    client.localAddress = address;
    const start = await client.navigate(stack.url('app.test', '/.ztna/login?rd=/'));
    expect(start.status).toBe(302);
    return { client, state: new URL(start.location!).searchParams.get('state')! };
  }

  const authEvents = async (event: string) =>
    sampleValue(await stack.metrics(), 'ztna_auth_events_total', { event });

  test('login starts never count: 20 from one address all go on to the IdP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++)
      statuses.push((await signInStatus('/.ztna/login?rd=/', '127.0.0.11')).status);
    expect(statuses).toEqual(Array(20).fill(302));
  });

  test('5 failed callbacks per address, then 429 with Retry-After on callback and login alike, counted and audited', async () => {
    const failedBefore = await authEvents('login_fail');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await signInStatus(BOGUS_CALLBACK, '127.0.0.13')).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429]);
    expect(await authEvents('login_fail')).toBe(failedBefore + 5);
    expect(
      await stack.auditLine((l) => l.status === 400 && l.client_ip === '127.0.0.13'),
    ).toMatchObject({ decision: 'login', reason: 'login_fail:state', route: 'app' });

    const limited = await signInStatus('/.ztna/login?rd=/', '127.0.0.13');
    expect(limited.status).toBe(429);
    // 5 a minute: one failure comes back every 12 s.
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(12);
    expect(limited.text).toContain('Too many sign-in attempts');
    expect(limited.text).toContain('failed sign-in attempts');
    expect(
      await stack.auditLine(
        (l) => l.status === 429 && l.client_ip === '127.0.0.13' && l.path === '/.ztna/login',
      ),
    ).toMatchObject({ decision: 'error', reason: 'rate_limited:login', route: 'app' });
    const metrics = await stack.metrics();
    expect(sampleValue(metrics, 'ztna_rate_limited_total', { endpoint: 'callback' })).toBe(2);
    expect(sampleValue(metrics, 'ztna_rate_limited_total', { endpoint: 'login' })).toBe(1);
    // Another address is not affected.
    expect((await signInStatus('/.ztna/login?rd=/', '127.0.0.12')).status).toBe(302);
    expect((await signInStatus(BOGUS_CALLBACK, '127.0.0.12')).status).toBe(400);
  });

  test('IdP errors count: an error answer and a code the IdP refuses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { client, state } = await startedLogin('127.0.0.14');
      const query = i % 2 === 0 ? `error=access_denied` : `code=not-a-real-code`;
      statuses.push(
        (await client.navigate(stack.url('app.test', `/.ztna/callback?state=${state}&${query}`)))
          .status,
      );
    }
    expect(statuses).toEqual([403, 502, 403, 502, 403]);
    expect((await signInStatus('/.ztna/login?rd=/', '127.0.0.14')).status).toBe(429);
  });

  test('logout CSRF failures count; a successful sign-in neither counts nor wipes the count', async () => {
    const alice = new TestClient();
    alice.localAddress = '127.0.0.15';
    expect((await stack.login(alice, 'alice', stack.url('app.test', '/'))).status).toBe(200);
    const forged = () =>
      alice.request(stack.url('app.test', '/.ztna/logout'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: 'csrf=forged',
      });
    for (let i = 0; i < 3; i++) expect((await forged()).status).toBe(403);
    // Signing in again (an office colleague, say) goes through and changes nothing.
    expect((await stack.login(alice, 'alice', stack.url('app.test', '/'))).status).toBe(200);
    expect((await signInStatus(BOGUS_CALLBACK, '127.0.0.15')).status).toBe(400);
    expect((await forged()).status).toBe(403);
    expect((await signInStatus('/.ztna/login?rd=/', '127.0.0.15')).status).toBe(429);
  });

  test('behind a trusted proxy each client counts apart; a forged X-Forwarded-For buys nothing', async () => {
    // Through the trusted proxy (127.0.0.40): one client uses up its failures…
    for (let i = 0; i < 5; i++)
      expect((await signInStatus(BOGUS_CALLBACK, '127.0.0.40', '198.51.100.1')).status).toBe(400);
    expect((await signInStatus(BOGUS_CALLBACK, '127.0.0.40', '198.51.100.1')).status).toBe(429);
    // …and the next client behind the same proxy is not affected.
    expect((await signInStatus(BOGUS_CALLBACK, '127.0.0.40', '198.51.100.2')).status).toBe(400);
    // A direct client rotating X-Forwarded-For is still one client.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await signInStatus(BOGUS_CALLBACK, '127.0.0.16', `203.0.113.${i}`)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
  });

  test('the gateway keeps serving everyone else during a flood of failures', async () => {
    const statuses = await Promise.all(
      Array.from(
        { length: 200 },
        async () => (await signInStatus(BOGUS_CALLBACK, '127.0.0.17')).status,
      ),
    );
    expect(statuses.filter((s) => s === 400)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(195);
    expect((await new TestClient().request(stack.url('site.test', '/'))).status).toBe(200);
    expect((await signInStatus('/.ztna/login?rd=/', '127.0.0.18')).status).toBe(302);
  });
});

describe('the failed-sign-in limit at its default (30 a minute)', () => {
  let stack: Stack;

  beforeAll(async () => {
    // No failed_signins_per_minute line: the default applies, as in a fresh gateway.yaml.
    stack = await startStack({ routes: ROUTES, limits: '  max_header_bytes: 16384' });
  });
  afterAll(() => stack.close());

  const APP = () => stack.url('app.test', '/');

  /**
   * One more sign-in of a browser the IdP knows: login → IdP → callback. The answer is where
   * the callback sent the browser, or the status of the first answer that is not a redirect.
   */
  async function signInAgain(browser: TestClient): Promise<number | string> {
    let reply = await browser.navigate(stack.url('app.test', '/.ztna/login?rd=/'));
    for (let hop = 0; hop < 6; hop++) {
      if (reply.location === undefined) return reply.status;
      const fromCallback = new URL(reply.location).pathname === '/.ztna/callback';
      reply = await browser.navigate(reply.location);
      if (fromCallback)
        return reply.status === 302 && reply.location === APP() ? 'landed on /' : reply.status;
    }
    return 'too many redirects';
  }

  test('an office signing in together is never throttled: 1,000 sign-ins from one address', async () => {
    const OFFICE = '127.0.0.21';
    const BROWSERS = 8;
    const TOTAL = 1000;
    const before = await stack.metrics();
    const started = Date.now();
    let next = 0;
    const statuses = new Map<number | string, number>();
    // Each browser signs in at the IdP once (the form), then again and again through the
    // IdP's session: every further sign-in is the redirect round trip, login to callback, and
    // ends where a person would land (the callback's redirect to rd).
    await Promise.all(
      Array.from({ length: BROWSERS }, async () => {
        const browser = new TestClient();
        browser.localAddress = OFFICE;
        expect((await stack.login(browser, 'alice', APP())).status).toBe(200);
        next++;
        while (next < TOTAL) {
          next++;
          const status = await signInAgain(browser);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    const elapsed = Date.now() - started;
    expect(Object.fromEntries(statuses)).toEqual({ 'landed on /': TOTAL - BROWSERS });
    const after = await stack.metrics();
    const delta = (name: string, labels: Record<string, string>) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta('ztna_auth_events_total', { event: 'login_ok' })).toBe(TOTAL);
    expect(delta('ztna_auth_events_total', { event: 'login_fail' })).toBe(0);
    expect(sampleValue(after, 'ztna_rate_limited_total', { endpoint: 'login' })).toBe(0);
    expect(sampleValue(after, 'ztna_rate_limited_total', { endpoint: 'callback' })).toBe(0);
    console.log(`${TOTAL} sign-ins from one address in ${elapsed} ms`);
  }, 120_000);

  test('a burst of bogus callbacks from one address: 30 failures, then 429, audited and counted; the office signs in on', async () => {
    const ATTACKER = '127.0.0.22';
    const before = await stack.metrics();
    const bogus = () =>
      new TestClient().request(stack.url('app.test', '/.ztna/callback?code=c&state=forged'), {
        localAddress: ATTACKER,
        headers: { accept: 'text/html', cookie: 'ztna_session_login_forged=forged-sealed-state' },
      });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await bogus()).status);
    expect(statuses).toEqual([...Array(30).fill(400), ...Array(10).fill(429)]);
    const after = await stack.metrics();
    const delta = (name: string, labels: Record<string, string>) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta('ztna_auth_events_total', { event: 'login_fail' })).toBe(30);
    expect(delta('ztna_rate_limited_total', { endpoint: 'callback' })).toBe(10);
    expect(delta('ztna_requests_total', { route: 'app', decision: 'error', code: '429' })).toBe(10);
    expect(
      await stack.auditLine((l) => l.status === 429 && l.client_ip === ATTACKER),
    ).toMatchObject({ decision: 'error', reason: 'rate_limited:callback', route: 'app' });
    // Another address (the office) is not affected.
    const colleague = new TestClient();
    colleague.localAddress = '127.0.0.23';
    expect((await stack.login(colleague, 'alice', APP())).status).toBe(200);
  });

  test('someone signing in at a throttled address waits for Retry-After, then the same callback completes', async () => {
    const SHARED = '127.0.0.24';
    // A person at the shared address gets as far as the IdP's redirect back…
    const person = new TestClient();
    person.localAddress = SHARED;
    let reply = await person.navigate(stack.url('app.test', '/.ztna/login?rd=/'));
    while (reply.location !== undefined && new URL(reply.location).pathname !== '/.ztna/callback') {
      const next = reply.location;
      reply = await person.navigate(next);
      if (reply.status === 200 && /\/interaction\/[\w-]+$/.test(new URL(next).pathname)) {
        reply = await person.request(`${next}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body: new URLSearchParams({ username: 'alice', password: 'pw-alice' }).toString(),
        });
      }
    }
    const callback = reply.location!;
    // …while something else at that address fails 30 times.
    for (let i = 0; i < 30; i++) {
      await new TestClient().request(stack.url('app.test', '/.ztna/callback?state=forged'), {
        localAddress: SHARED,
        headers: { cookie: 'ztna_session_login_forged=forged-sealed-state' },
      });
    }
    const throttled = await person.navigate(callback);
    expect(throttled.status).toBe(429);
    const wait = Number(throttled.headers['retry-after']);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(2); // 30 a minute: one comes back every 2 s
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    // The login state waited in the browser, the code at the IdP: the same URL signs in now.
    const done = await person.navigate(callback);
    expect(done.status).toBe(302);
    expect((await person.request(APP())).status).toBe(200);
  }, 20_000);
});

describe('streaming with back-pressure', () => {
  let stack: Stack;
  const TOTAL = 256 * 1024 * 1024;
  // Socket buffers on loopback (autotuned up to tens of MiB) may hold part of a body; a
  // gateway that buffered would hold all of it.
  const MAX_IN_FLIGHT = 48 * 1024 * 1024;

  beforeAll(async () => {
    stack = await startStack({ routes: ROUTES });
  });
  afterAll(() => stack.close());

  test('a client that stops reading stops the upstream too; then the whole body arrives', async () => {
    const socket = await openSocket(stack.port);
    socket.write(
      `GET /stream?bytes=${TOTAL} HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n`,
    );
    socket.pause(); // read nothing: only the kernel's buffers fill up
    await sleep(1000);
    const stalledAt = stack.upstream.streamed();
    await sleep(500);
    // The upstream is held back (not still pumping), far short of the whole body.
    expect(stack.upstream.streamed()).toBe(stalledAt);
    expect(stalledAt).toBeLessThan(MAX_IN_FLIGHT);
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(stack.upstream.streamed()).toBe(TOTAL);
    expect(received).toBeGreaterThan(TOTAL);
  }, 30_000);

  test('an upstream that stops reading an upload stops the client too; then it all arrives', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x62);
    let written = 0;
    let req!: ClientRequest;
    const answer = new Promise<string>((resolve, reject) => {
      req = request(
        {
          host: '127.0.0.1',
          port: stack.port,
          method: 'POST',
          path: '/paused-upload',
          headers: { host: 'site.test', 'content-length': TOTAL },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
    });
    // Write until the socket pushes back and stays blocked for a second.
    for (;;) {
      let accepted = true;
      while (written < TOTAL && accepted) {
        accepted = req.write(chunk);
        written += chunk.length;
      }
      if (written >= TOTAL) break; // nothing pushed back: the assertion below fails
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => req.once('drain', () => resolve(true))),
        sleep(1000).then(() => false),
      ]);
      if (!drained) break;
    }
    expect(written).toBeLessThan(MAX_IN_FLIGHT);
    stack.upstream.resumeUploads();
    while (written < TOTAL) {
      written += chunk.length;
      if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve));
    }
    req.end();
    expect(JSON.parse(await answer)).toEqual({ bodyBytes: TOTAL });
  }, 30_000);
});
