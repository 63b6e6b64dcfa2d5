import { request } from 'node:http';
import type { ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { openSocket, parseRawReply, rawRequest, readUntilClose } from '../harness/raw-http.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * What one client may cost the gateway (issue 7, "Limits"): bounded headers, deadlines for
 * slow senders (slowloris), a per-IP rate on the sign-in endpoints, and streaming with
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

describe('listener limits and the sign-in rate limit', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      routes: ROUTES,
      gatewayExtra: 'trusted_proxies: [127.0.0.40/32]',
      limits: `  max_header_bytes: 8192
  header_timeout: 1s
  request_timeout: 3s
  login_rate_per_minute: 5`,
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

  async function signInStatus(path: string, localAddress: string, xff?: string) {
    const client = new TestClient();
    const reply = await client.request(stack.url('app.test', path), {
      localAddress,
      headers: { accept: 'text/html', ...(xff !== undefined && { 'x-forwarded-for': xff }) },
    });
    return reply;
  }

  test('/.ztna/login: a burst of 5 per client IP, then 429 with Retry-After, counted and audited', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await signInStatus('/.ztna/login?rd=/', '127.0.0.11')).status);
    expect(statuses).toEqual([302, 302, 302, 302, 302]);
    const limited = await signInStatus('/.ztna/login?rd=/', '127.0.0.11');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(12);
    expect(limited.text).toContain('Too many sign-in attempts');
    expect(
      await stack.auditLine((l) => l.status === 429 && l.client_ip === '127.0.0.11'),
    ).toMatchObject({ decision: 'error', reason: 'rate_limited:login', route: 'app' });
    const metrics = await stack.metrics();
    expect(sampleValue(metrics, 'ztna_rate_limited_total', { endpoint: 'login' })).toBe(1);
    expect(
      sampleValue(metrics, 'ztna_requests_total', { route: 'app', decision: 'error', code: '429' }),
    ).toBe(1);
    // Another address is not affected.
    expect((await signInStatus('/.ztna/login?rd=/', '127.0.0.12')).status).toBe(302);
  });

  test('/.ztna/callback is limited too, before any state check or IdP request', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await signInStatus('/.ztna/callback?code=c&state=s', '127.0.0.13')).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429]);
    expect(
      sampleValue(await stack.metrics(), 'ztna_rate_limited_total', { endpoint: 'callback' }),
    ).toBe(2);
  });

  test('login and callback share one budget per client', async () => {
    for (let i = 0; i < 5; i++) await signInStatus('/.ztna/login?rd=/', '127.0.0.14');
    expect((await signInStatus('/.ztna/callback?code=c&state=s', '127.0.0.14')).status).toBe(429);
  });

  test('behind a trusted proxy each client counts apart; a forged X-Forwarded-For buys nothing', async () => {
    // Through the trusted proxy (127.0.0.40): six clients, one request each, all pass.
    for (let i = 0; i < 6; i++) {
      expect(
        (await signInStatus('/.ztna/login?rd=/', '127.0.0.40', `198.51.100.${i}`)).status,
      ).toBe(302);
    }
    // A direct client rotating X-Forwarded-For is still one client.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await signInStatus('/.ztna/login?rd=/', '127.0.0.15', `203.0.113.${i}`)).status,
      );
    }
    expect(statuses).toEqual([302, 302, 302, 302, 302, 429]);
  });

  test('the gateway keeps serving everyone else during a flood', async () => {
    await Promise.all(
      Array.from({ length: 200 }, () => signInStatus('/.ztna/login?rd=/', '127.0.0.16')),
    );
    expect((await new TestClient().request(stack.url('site.test', '/'))).status).toBe(200);
    expect((await signInStatus('/.ztna/login?rd=/', '127.0.0.17')).status).toBe(302);
  });
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
