import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { openSocket, rawRequest, rawUpgradeHead } from '../harness/raw-http.js';
import { sampleValue, startStack, TEST_CERT_FILE, TEST_KEY_FILE } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

// Findings of the attack review of the single pipeline (issue 10), each a regression test:
// what the gateway's connections to upstreams and its raw upgrade sockets must never do.

const FIXTURES = dirname(TEST_CERT_FILE);

let stack: Stack;
let service: PostureIssuer;
const servers: Server[] = [];
/** TLS names the https upstream was asked for. */
const serverNames: string[] = [];
/** TLS names of each connection the https upstream accepted (upgrades never reach a handler). */
const handshakes: string[] = [];
/** WebSockets the slow-auth upstream accepted, and how many are still open. */
const wss = new WebSocketServer({ noServer: true });
let jwksDelayMs = 0;

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  service = await createPostureIssuer('https://svc.test', 'ztna-gateway');
  const tlsPort = await listen(
    createHttpsServer(
      { cert: readFileSync(TEST_CERT_FILE), key: readFileSync(TEST_KEY_FILE) },
      (req, res) => {
        serverNames.push(String((req.socket as TLSSocket).servername));
        res.end('tls ok');
      },
    ).on('secureConnection', (socket: TLSSocket) => handshakes.push(String(socket.servername))),
  );
  // An https upstream addressed by IP whose certificate names hosts only, not that IP.
  const namesOnlyPort = await listen(
    createHttpsServer(
      {
        cert: readFileSync(join(FIXTURES, 'names-only.crt')),
        key: readFileSync(join(FIXTURES, 'names-only.key')),
      },
      (_req, res) => res.end('names only'),
    ),
  );
  const jwksPort = await listen(
    createHttpServer((_req, res) =>
      setTimeout(
        () =>
          res
            .writeHead(200, { 'Content-Type': 'application/json' })
            .end(JSON.stringify(service.jwks())),
        jwksDelayMs,
      ),
    ),
  );
  const wsServer = createHttpServer();
  wsServer.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, () => undefined),
  );
  const wsPort = await listen(wsServer);
  // An upstream that answers an upgrade with a 101 that opens nothing.
  const bare101Port = await listen(
    createNetServer((socket) =>
      socket.once('data', () => socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n')),
    ),
  );
  // An upstream that answers an upgrade with a head of its own, picked by the request path,
  // on a raw socket: a refusal's reason phrase with control characters (Node's parser takes
  // them there, not in a header line), status lines that are none, a NUL in a header line.
  // The gateway writes a refusal to the client's raw socket, without writeHead's checks.
  const oddHeads: Record<string, string> = {
    '/nul': 'HTTP/1.1 403 Bad\0Set-Cookie: ztna_session=planted',
    '/escape': 'HTTP/1.1 403 Bad\x1b[2J\x7f',
    '/plain': 'HTTP/1.1 403 Nope, not today',
    '/status-007': 'HTTP/1.1 007 Bond',
    '/status-099': 'HTTP/1.1 099 Almost',
    '/header-nul': 'HTTP/1.1 403 Forbidden\r\nX-App: a\0Set-Cookie: ztna_session=planted',
    '/101-header-nul':
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-App: a\0b',
  };
  const oddHeadPort = await listen(
    createNetServer((socket) =>
      socket.once('data', (chunk: Buffer) => {
        const path = /^GET (\S+)/.exec(chunk.toString('latin1'))?.[1] ?? '/';
        socket.end(`${oddHeads[path] ?? 'x'}\r\nContent-Length: 0\r\n\r\n`, 'latin1');
      }),
    ),
  );
  // An upstream that accepts an upgrade's connection and never answers it.
  const silentPort = await listen(createNetServer((socket) => socket.on('error', () => undefined)));
  stack = await startStack({
    gatewayExtra: `service_tokens:
  - issuer: https://svc.test
    audiences: [ztna-gateway]
    jwks_uri: http://127.0.0.1:${jwksPort}/jwks.json`,
    routes: () => `version: 1
routes:
  - name: preserved
    host: "*.corp.test"
    upstream: https://127.0.0.1:${tlsPort}
    public: true
    preserve_host: true
    upstream_tls: { ca_file: ${TEST_CERT_FILE}, server_name: app.test }
  - name: by-ip
    host: "*.byip.test"
    upstream: https://127.0.0.1:${namesOnlyPort}
    public: true
    preserve_host: true
    upstream_tls: { ca_file: ${join(FIXTURES, 'names-only.crt')} }
  - name: api
    host: api.test
    upstream: http://127.0.0.1:${wsPort}
    auth: [bearer]
    policy: { allow: [ { subjects: [svc-a] } ] }
  - name: down
    host: down.test
    upstream: http://127.0.0.1:1
    public: true
  - name: silent
    host: silent.test
    upstream: http://127.0.0.1:${silentPort}
    public: true
  - name: bare101
    host: bare101.test
    upstream: http://127.0.0.1:${bare101Port}
    public: true
  - name: odd-head
    host: odd-head.test
    upstream: http://127.0.0.1:${oddHeadPort}
    public: true
`,
  });
});
afterAll(async () => {
  await stack.close();
  for (const client of wss.clients) client.terminate();
  for (const server of servers) server.close();
});

describe('https upstreams are verified against their configured name', () => {
  test('with preserve_host, the client’s Host is forwarded but never becomes the TLS name', async () => {
    // The test certificate covers app.test (the configured server_name), not the public names.
    for (const host of ['wiki.corp.test', 'other.corp.test']) {
      const reply = await rawRequest(
        stack.port,
        `GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      expect(reply.status).toBe(200);
    }
    expect(serverNames).toEqual(['app.test', 'app.test']);
  });

  test('an upstream addressed by IP must prove that IP, whatever Host the client sends', async () => {
    // The certificate is valid for *.byip.test, the very names a client may send as Host; it
    // does not name 127.0.0.1, so the gateway must refuse it (502), on HTTP and WebSocket.
    const reply = await rawRequest(
      stack.port,
      `GET /x HTTP/1.1\r\nHost: evil.byip.test\r\nConnection: close\r\n\r\n`,
    );
    expect(reply.status).toBe(502);
    expect(reply.body).not.toContain('names only');
    expect((await rawUpgradeHead(stack.port, 'evil.byip.test', '/ws')).status).toBe(502);
  });

  test('so is a WebSocket upgrade to it', async () => {
    const before = handshakes.length;
    await rawUpgradeHead(stack.port, 'wiki.corp.test', '/ws');
    expect(handshakes.slice(before)).toEqual(['app.test']);
  });
});

describe('raw upgrade sockets', () => {
  test('a client that leaves while being authorized gets no upstream WebSocket', async () => {
    jwksDelayMs = 600; // the service token's keys are fetched while the client goes away
    const token = await service.mint({}, { sub: 'svc-a' });
    const socket = await openSocket(stack.port);
    socket.on('error', () => undefined);
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: api.test:${stack.port}\r\nAuthorization: Bearer ${token}\r\n` +
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    socket.resetAndDestroy();
    expect(await stack.auditLine((l) => l.route === 'api' && l.status === 499)).toMatchObject({
      decision: 'allow',
      websocket: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(wss.clients.size).toBe(0);
    jwksDelayMs = 0;
  });

  test.each([
    [
      'an anonymous upgrade (401)',
      'GET /ws HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      401,
    ],
    [
      'an h2c upgrade (400)',
      'GET / HTTP/1.1\r\nHost: api.test\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n',
      400,
    ],
    ['a CONNECT (400)', 'CONNECT api.test:443 HTTP/1.1\r\nHost: api.test\r\n\r\n', 400],
  ])(
    'after refusing %s the gateway closes the socket, even if the client never does',
    async (_name, request, status) => {
      const socket: Socket = await openSocket(stack.port);
      socket.allowHalfOpen = true; // a client that never sends its FIN
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      const closed = new Promise<void>((resolve) => {
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
      });
      socket.write(request);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(received.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      // A socket the gateway still held would take these bytes in silence; a closed one resets
      // the connection, which the second write sees (EPIPE).
      socket.write('more');
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.write('more');
      const outcome = await Promise.race([
        closed.then(() => 'closed'),
        new Promise((resolve) => setTimeout(() => resolve('still open'), 3000)),
      ]);
      socket.destroy();
      expect(outcome).toBe('closed');
    },
  );

  test('an upstream that cannot be reached gives the client the 502 page, as on HTTP', async () => {
    const head = await rawUpgradeHead(stack.port, 'down.test', '/ws');
    expect(head.status).toBe(502);
    expect(await stack.auditLine((l) => l.route === 'down' && l.websocket === true)).toMatchObject({
      status: 502,
    });
  });

  test('a client that leaves before the upstream answers is no upstream failure (499)', async () => {
    const socket = await openSocket(stack.port);
    socket.on('error', () => undefined);
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: silent.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    expect(await stack.auditLine((l) => l.route === 'silent')).toMatchObject({ status: 499 });
    expect(
      sampleValue(await stack.metrics(), 'ztna_upstream_errors_total', { route: 'silent' }),
    ).toBe(0);
  });

  test('an upstream 101 without an upgrade is a broken answer (502), not relayed', async () => {
    const head = await rawUpgradeHead(stack.port, 'bare101.test', '/ws');
    expect(head.status).toBe(502);
    expect(await stack.auditLine((l) => l.route === 'bare101')).toMatchObject({ status: 502 });
  });

  test.each([
    ['a NUL and a Set-Cookie behind it', '/nul'],
    ['terminal escapes and DEL', '/escape'],
    ['only plain text', '/plain'],
  ])(
    'an upstream refusal whose reason phrase carries %s gets the standard one, as on HTTP',
    async (_name, path) => {
      const head = await rawUpgradeHead(stack.port, 'odd-head.test', path);
      expect(head.raw.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
      for (const planted of ['\0', '\x1b', '\x7f', 'ztna_session'])
        expect(head.raw).not.toContain(planted);
      expect(await stack.auditLine((l) => l.route === 'odd-head' && l.path === path)).toMatchObject(
        { status: 403, websocket: true },
      );
    },
  );

  test.each([
    ['a status of 007', '/status-007'],
    ['a status of 099', '/status-099'],
    ['a NUL in a refusal’s header line', '/header-nul'],
    ['a NUL in a 101’s header line', '/101-header-nul'],
  ])('an upstream answer to an upgrade with %s is a broken answer (502)', async (_name, path) => {
    const head = await rawUpgradeHead(stack.port, 'odd-head.test', path);
    expect(head.status).toBe(502);
    for (const planted of ['\0', 'Bond', 'Almost', 'ztna_session'])
      expect(head.raw).not.toContain(planted);
    expect(await stack.auditLine((l) => l.route === 'odd-head' && l.path === path)).toMatchObject({
      status: 502,
      websocket: true,
    });
  });
});
