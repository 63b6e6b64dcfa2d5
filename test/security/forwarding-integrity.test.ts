import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { eventually } from '../harness/eventually.js';
import { rawRequest, rawUpgradeHead } from '../harness/raw-http.js';
import type { RawReply } from '../harness/raw-http.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * What reaches the upstream and who the gateway thinks the client is (issue 12, items 8 to
 * 10), against the real recording upstream, over HTTP and WebSocket upgrades alike:
 *
 * - double-encoded `.`, `/`, `\` (SPEC §7) are refused unless the route allows them;
 * - the identity headers of other auth proxies, client-IP headers and method overrides are
 *   stripped, and a client naming the gateway's own headers in `Connection` changes nothing
 *   (SPEC §8);
 * - the client address from a trusted proxy's X-Forwarded-For: ports are read, IPv4-mapped
 *   IPv6 is normalized in every spelling, and an entry that is no address makes the client
 *   unknown, which no `ip` allow rule admits and every `ip` deny rule refuses.
 *
 * The gateway trusts 127.0.0.1 as a proxy: every request here comes from it, so its
 * X-Forwarded-For is believed.
 */

let stack: Stack;
const cookies = new Map<string, string>();

beforeAll(async () => {
  stack = await startStack({
    gatewayExtra: 'trusted_proxies: [127.0.0.1/32]',
    routes: (upstream) => `version: 1
routes:
  - name: site
    host: site.test
    upstream: ${upstream}
    public: true
  - name: literal
    host: literal.test
    upstream: ${upstream}
    public: true
    allow_double_encoding: true
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { email_domains: [corp.example] } ] }
  # Written for clients coming through the proxies' own network.
  - name: office
    host: office.test
    upstream: ${upstream}
    policy: { allow: [ { ip: [127.0.0.0/8, 10.0.0.0/8] } ] }
  - name: guarded
    host: guarded.test
    upstream: ${upstream}
    policy:
      allow: [ { email_domains: [corp.example] } ]
      deny: [ { ip: [203.0.113.0/24] } ]
`,
  });
  for (const host of ['app.test', 'office.test', 'guarded.test']) {
    const client = new TestClient();
    await stack.login(client, 'alice', stack.url(host, '/'));
    cookies.set(host, await client.jar.getCookieString(stack.url(host, '/')));
  }
}, 60_000);
afterAll(() => stack.close());

let sequence = 0;
function nextId(): string {
  return `integrity-${String(++sequence).padStart(6, '0')}`;
}

/** One HTTP request written byte by byte, signed in as alice when the host has a session. */
async function send(
  host: string,
  target: string,
  headers: readonly string[] = [],
): Promise<RawReply & { id: string }> {
  const id = nextId();
  const cookie = cookies.get(host);
  const lines = [
    `Host: ${host}`,
    ...(cookie === undefined ? [] : [`Cookie: ${cookie}`]),
    ...headers,
    `X-Request-Id: ${id}`,
  ];
  const hasConnection = headers.some((h) => /^connection:/i.test(h));
  const reply = await rawRequest(
    stack.port,
    `GET ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n${hasConnection ? '' : 'Connection: close\r\n'}\r\n`,
  );
  return { ...reply, id };
}

/** A WebSocket upgrade with exactly these header lines; the head of the answer. */
async function upgrade(
  host: string,
  target: string,
  headers: Record<string, string> = {},
): Promise<RawReply & { id: string }> {
  const id = nextId();
  const cookie = cookies.get(host);
  const reply = await rawUpgradeHead(stack.port, host, target, {
    ...(cookie === undefined ? {} : { Cookie: cookie }),
    'X-Request-Id': id,
    ...headers,
  });
  return { ...reply, id };
}

function upstreamSaw(id: string) {
  return stack.upstream.seen.find((r) => r.headers['x-request-id'] === id);
}

/** Header names as the upstream received them, `_` read as `-` (as nginx or CGI would). */
function namesSeen(id: string): string[] {
  return upstreamSaw(id)!
    .rawHeaders.filter((_, i) => i % 2 === 0)
    .map((n) => n.toLowerCase().replaceAll('_', '-'));
}

describe('double-encoded ".", "/" and "\\" (SPEC §7)', () => {
  test.each([
    '/public/..%252fadmin',
    '/public/..%252Fadmin',
    '/public/%252e%252e/admin',
    '/public/%252E%252E/admin',
    '/public/..%255cadmin',
    '/public/..%255Cadmin',
    '/public/..%25252fadmin',
    '/public/..%25%32%66admin',
  ])('%s → 400 over HTTP, audited and counted; the upstream never sees it', async (target) => {
    const before = sampleValue(await stack.metrics(), 'ztna_requests_total', {
      decision: 'error',
      code: '400',
    });
    const reply = await send('site.test', target, ['Accept: application/json']);
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('ZTNA_ERR_REQUEST_BAD_TARGET');
    expect(upstreamSaw(reply.id)).toBeUndefined();
    expect(await stack.auditLine((l) => l.request_id === reply.id)).toMatchObject({
      decision: 'error',
      reason: 'bad_target:double_encoding',
      status: 400,
    });
    const after = sampleValue(await stack.metrics(), 'ztna_requests_total', {
      decision: 'error',
      code: '400',
    });
    expect(after).toBe(before + 1);
  });

  test('a WebSocket upgrade with a double-encoded path is refused alike', async () => {
    const reply = await upgrade('app.test', '/ws/..%252fadmin');
    expect(reply.status).toBe(400);
    expect(upstreamSaw(reply.id)).toBeUndefined();
    expect(await stack.auditLine((l) => l.request_id === reply.id)).toMatchObject({
      decision: 'error',
      reason: 'bad_target:double_encoding',
      websocket: true,
    });
  });

  test('a route with allow_double_encoding forwards the literal sequence, over HTTP and WebSocket', async () => {
    const reply = await send('literal.test', '/files/a%252Fb.txt');
    expect(reply.status).toBe(200);
    expect(upstreamSaw(reply.id)?.url).toBe('/files/a%252Fb.txt');
    // The recording upstream's WebSocket server answers /ws only (400 elsewhere): what counts
    // is that the gateway let the upgrade through to it.
    const socket = await upgrade('literal.test', '/ws/a%252Fb');
    expect(await stack.auditLine((l) => l.request_id === socket.id)).toMatchObject({
      decision: 'public',
      path: '/ws/a%252Fb',
      websocket: true,
    });
  });

  test('the query is never judged: %252f there is forwarded on any route', async () => {
    const reply = await send('site.test', '/search?q=..%252fadmin');
    expect(reply.status).toBe(200);
    expect(upstreamSaw(reply.id)?.url).toBe('/search?q=..%252fadmin');
  });
});

/** Headers an upstream may trust that no client may send (SPEC §8), in odd spellings. */
const SPOOFED = [
  'Remote-User: ceo',
  'Remote-Email: ceo@corp.example',
  'Remote_Groups: admins',
  'X-WEBAUTH-USER: ceo',
  'X-Webauth-Role: Admin',
  'X-Auth-Request-Email: ceo@corp.example',
  'X_Auth_Request_Groups: admins',
  'X-Goog-Authenticated-User-Email: accounts.google.com:ceo@corp.example',
  'Cf-Access-Authenticated-User-Email: ceo@corp.example',
  'CF-Access-Jwt-Assertion: forged',
  'X-Amzn-Oidc-Identity: ceo',
  'X-Amzn-Oidc-Data: forged',
  'X-Authenticated-Userid: ceo',
  'X-Real-IP: 10.0.0.1',
  'X_Real_IP: 10.0.0.1',
  'True-Client-IP: 10.0.0.1',
  'CF-Connecting-IP: 10.0.0.1',
  'X-HTTP-Method-Override: DELETE',
  'X_HTTP_Method_Override: DELETE',
  'X-HTTP-Method: DELETE',
  'X-Method-Override: DELETE',
];
const SPOOFED_NAMES = [
  ...new Set(SPOOFED.map((line) => line.split(':')[0]!.toLowerCase().replaceAll('_', '-'))),
];

describe('headers no client may send (SPEC §8)', () => {
  test('other auth proxies’ identity headers, client-IP headers and method overrides are stripped over HTTP', async () => {
    const reply = await send('site.test', '/public', SPOOFED);
    expect(reply.status).toBe(200);
    const names = namesSeen(reply.id);
    for (const name of SPOOFED_NAMES) expect(names).not.toContain(name);
  });

  test('and over a WebSocket upgrade', async () => {
    const headers = Object.fromEntries(
      SPOOFED.map((line) => [line.split(':')[0]!, line.slice(line.indexOf(':') + 1).trim()]),
    );
    const reply = await upgrade('app.test', '/ws', headers);
    expect(reply.status).toBe(101);
    const names = await eventually(() => upstreamSaw(reply.id) && namesSeen(reply.id));
    for (const name of SPOOFED_NAMES) expect(names).not.toContain(name);
  });

  test('naming the gateway’s own headers in Connection drops nothing the gateway sets (HTTP)', async () => {
    for (const connection of [
      'close, X-Forwarded-Email',
      'close, x-ztna-assertion',
      'close, X-Forwarded-User, X-Forwarded-Groups, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, X-Request-Id',
    ]) {
      const reply = await send('app.test', '/', [
        `Connection: ${connection}`,
        'X-Forwarded-Email: ceo@corp.example',
      ]);
      expect(reply.status).toBe(200);
      const seen = upstreamSaw(reply.id)!;
      expect(seen.headers).toMatchObject({
        'x-forwarded-user': 'alice',
        'x-forwarded-email': 'alice@corp.example',
        'x-forwarded-groups': 'engineering',
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'app.test',
        'x-request-id': reply.id,
      });
      expect(seen.headers['x-ztna-assertion']).toMatch(/^ey/);
    }
  });

  test('naming the gateway’s own headers in Connection drops nothing the gateway sets (WebSocket)', async () => {
    const reply = await upgrade('app.test', '/ws', {
      Connection: 'Upgrade, X-Forwarded-Email, x-ztna-assertion, X-Forwarded-For',
      'X-Forwarded-Email': 'ceo@corp.example',
    });
    expect(reply.status).toBe(101);
    const seen = await eventually(() => upstreamSaw(reply.id));
    expect(seen.headers).toMatchObject({
      'x-forwarded-email': 'alice@corp.example',
      'x-forwarded-for': '127.0.0.1',
    });
    expect(seen.headers['x-ztna-assertion']).toMatch(/^ey/);
  });
});

describe('the client address through a trusted proxy', () => {
  test.each([
    ['10.1.2.3:5555', '10.1.2.3'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    // The proxy itself (trusted) wrote its own address with a port: the walk goes on past it.
    ['198.51.100.7, 127.0.0.1:8080', '198.51.100.7'],
    ['::FFFF:198.51.100.7', '198.51.100.7'],
    ['::ffff:c633:6407', '198.51.100.7'],
    ['0:0:0:0:0:ffff:198.51.100.7', '198.51.100.7'],
    ['[::ffff:c633:6407]:443', '198.51.100.7'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
  ])('X-Forwarded-For %s is the client %s on the audit line', async (forwarded, client) => {
    const reply = await send('site.test', '/public', [`X-Forwarded-For: ${forwarded}`]);
    expect(reply.status).toBe(200);
    expect(await stack.auditLine((l) => l.request_id === reply.id)).toMatchObject({
      client_ip: client,
    });
  });

  test('an address with a port is judged as the address', async () => {
    const reply = await send('office.test', '/', ['X-Forwarded-For: 10.1.2.3:5555']);
    expect(reply.status).toBe(200);
    expect(await stack.auditLine((l) => l.request_id === reply.id)).toMatchObject({
      decision: 'allow',
      client_ip: '10.1.2.3',
    });
  });

  test.each(['unknown', '_obfuscated', '10.1.2.3, garbage', '10.1.2.3:', '[10.1.2.3]:80'])(
    'X-Forwarded-For "%s": the client is unknown, not the proxy, and no ip allow rule admits it',
    async (forwarded) => {
      const reply = await send('office.test', '/', [`X-Forwarded-For: ${forwarded}`]);
      expect(reply.status).toBe(403);
      expect(upstreamSaw(reply.id)).toBeUndefined();
      expect(await stack.auditLine((l) => l.request_id === reply.id)).toMatchObject({
        decision: 'deny',
        reason: 'deny:no_rule_matched',
        client_ip: 'unknown',
      });
    },
  );

  test('an unknown client is refused by an ip deny rule, over HTTP and WebSocket', async () => {
    const reply = await send('guarded.test', '/', ['X-Forwarded-For: unknown']);
    expect(reply.status).toBe(403);
    expect(upstreamSaw(reply.id)).toBeUndefined();
    expect(await stack.auditLine((l) => l.request_id === reply.id)).toMatchObject({
      decision: 'deny',
      reason: 'deny:ip',
      client_ip: 'unknown',
    });
    const socket = await upgrade('guarded.test', '/ws', { 'X-Forwarded-For': 'unknown' });
    expect(socket.status).toBe(403);
    expect(await stack.auditLine((l) => l.request_id === socket.id)).toMatchObject({
      decision: 'deny',
      reason: 'deny:ip',
      websocket: true,
    });
  });

  test.each(['::FFFF:203.0.113.9', '::ffff:cb00:7109', '0:0:0:0:0:ffff:203.0.113.9'])(
    'a denied network spelled as IPv4-mapped IPv6 (%s) is still denied',
    async (forwarded) => {
      const reply = await send('guarded.test', '/', [`X-Forwarded-For: ${forwarded}`]);
      expect(reply.status).toBe(403);
      expect(await stack.auditLine((l) => l.request_id === reply.id)).toMatchObject({
        reason: 'deny:ip',
        client_ip: '203.0.113.9',
      });
    },
  );

  test('a known client outside the denied network is let in', async () => {
    const reply = await send('guarded.test', '/', ['X-Forwarded-For: 198.51.100.7:4000']);
    expect(reply.status).toBe(200);
    expect(upstreamSaw(reply.id)).toBeDefined();
  });
});
