import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { canonicalizeTarget } from '../../src/routing/canonicalize.js';
import { createRouteIndex } from '../../src/routing/route-index.js';
import { rawRequest } from '../harness/raw-http.js';
import type { RawReply } from '../harness/raw-http.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * Requests written byte by byte against the running gateway (issue 7): path tricks that try to
 * reach /admin through the public route, request-line and header tricks, smuggling. The
 * public route `/` forwards anything; `/admin` needs alice. No request here carries a session,
 * so whatever the trick, /admin must never reach the upstream.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    routes: (upstream) => `version: 1
routes:
  - name: site
    host: site.test
    upstream: ${upstream}
    public: true
  - name: admin
    host: site.test
    path: /admin
    upstream: ${upstream}
    policy:
      allow:
        - emails: [alice@corp.example]
`,
  });
});
afterAll(() => stack.close());

// The gateway's routes, as an oracle for what the upstream received.
const index = createRouteIndex([
  { name: 'site', host: 'site.test', pathSegments: [] as string[] },
  { name: 'admin', host: 'site.test', pathSegments: ['admin'] },
]);

function routeOf(path: string): string | undefined {
  const result = canonicalizeTarget(path);
  if (!result.ok) throw new Error(`the upstream received a non-canonical path: ${path}`);
  return index.match('site.test', result.target.segments)?.name;
}

/** Requests the upstream received on a path that belongs to the admin route. */
function adminRequestsSeen(): string[] {
  return stack.upstream.seen
    .map((r) => r.url.split('?')[0]!)
    .filter((path) => routeOf(path) === 'admin');
}

let sequence = 0;
/** Sends one request line (target) with the given extra header lines; tags it with a request id. */
async function send(
  target: string,
  headers = 'Host: site.test',
  method = 'GET',
): Promise<RawReply & { id: string }> {
  const id = `attack-${String(++sequence).padStart(6, '0')}`;
  const reply = await rawRequest(
    stack.port,
    `${method} ${target} HTTP/1.1\r\n${headers}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`,
  );
  return { ...reply, id };
}

function upstreamSaw(id: string) {
  return stack.upstream.seen.find((r) => r.headers['x-request-id'] === id);
}

describe('path tricks never reach /admin without the admin policy', () => {
  // [request target, what the gateway must answer]
  test.each<[string, 400 | 401]>([
    ['/public/../admin', 401],
    ['/public/%2e%2e/admin', 401],
    ['/public/%2E%2E/admin', 401],
    ['/public/.%2e/admin', 401],
    ['/public/%2e./admin', 401],
    ['/public/./../admin/', 401],
    ['//admin', 401],
    ['///admin//settings', 401],
    ['/admin;jsessionid=x', 401],
    ['/admin;/settings', 401],
    ['/public;x=1/../admin', 401],
    ['/%61dmin', 401],
    ['/public/..%2fadmin', 400],
    ['/public/..%2Fadmin', 400],
    ['/public%2f..%2fadmin', 400],
    ['/%2fadmin', 400],
    ['/public/..%5cadmin', 400],
    ['/public/%5c../admin', 400],
    ['/public\\..\\admin', 400],
    ['/public/..;/admin', 400],
    ['/public/.;/admin', 400],
    ['/public/%2e%2e;x/admin', 400],
    ['/;x/admin', 400],
    ['/..', 400],
    ['/../admin', 400],
    ['/admin%00', 400],
    ['/admin%00.css', 400],
    ['/public/%c0%ae%c0%ae/admin', 400],
    ['/public/%e0%80%ae%e0%80%ae/admin', 400],
    ['/%c0%afadmin', 400],
    ['/public/%ed%a0%80', 400],
    ['/admin%23x', 400],
    ['/public%0d%0aX-Injected:%201', 400],
    ['/public/%2', 400],
  ])('%s → %i, and the upstream never sees it', async (target, status) => {
    const reply = await send(target);
    expect(reply.status).toBe(status);
    expect(upstreamSaw(reply.id)).toBeUndefined();
    const line = await stack.auditLine((l) => l.request_id === reply.id);
    if (status === 401) expect(line).toMatchObject({ route: 'admin', decision: 'login' });
    else expect(line).toMatchObject({ decision: 'error', status: 400 });
  });

  test.each([
    ['raw NUL', '/admin\u0000'],
    ['raw CR', '/admin\rx'],
    ['raw tab', '/pub\tlic/../admin'],
    ['raw DEL', '/admin\u007f'],
    ['raw high byte (Latin-1)', '/caf\u00e9/../admin'],
    ['raw overlong UTF-8 bytes', '/\u00c0\u00ae\u00c0\u00ae/admin'],
  ])('%s in the request line → 400 from the listener', async (_name, target) => {
    const reply = await send(target);
    expect(reply.status).toBe(400);
    expect(upstreamSaw(reply.id)).toBeUndefined();
  });

  test('the query never takes part in routing: /?/../admin stays on the public route', async () => {
    const reply = await send('/public?x=/../admin&y=%2e%2e');
    expect(reply.status).toBe(200);
    expect(upstreamSaw(reply.id)?.url).toBe('/public?x=/../admin&y=%2e%2e');
  });

  test('the upstream receives exactly the path the policy judged (case kept)', async () => {
    for (const [target, forwarded] of [
      ['/public/./x//y/../z', '/public/x/z'],
      ['/ADMIN', '/ADMIN'],
      ['/%7Euser/%41', '/~user/A'],
      ['/a%20b/c%3Fd', '/a%20b/c%3Fd'],
    ] as const) {
      const reply = await send(target);
      expect(reply.status).toBe(200);
      expect(upstreamSaw(reply.id)?.url).toBe(forwarded);
      expect((await stack.auditLine((l) => l.request_id === reply.id)).path).toBe(forwarded);
    }
  });
});

describe('request-line and header tricks', () => {
  test('absolute-form targets are refused, whatever authority they name', async () => {
    for (const target of [
      'http://site.test/admin',
      'http://evil.test/admin',
      'https://site.test/',
      'site.test:80',
      '*',
    ]) {
      const reply = await send(target);
      expect(reply.status).toBe(400);
      expect(upstreamSaw(reply.id)).toBeUndefined();
    }
  });

  test('CONNECT is never a tunnel', async () => {
    const reply = await send('site.test:443', 'Host: site.test:443', 'CONNECT');
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('ZTNA_ERR_REQUEST_BAD_TARGET');
    expect(await stack.auditLine((l) => l.request_id === reply.id)).toMatchObject({
      method: 'CONNECT',
      decision: 'error',
      reason: 'bad_target:not_origin_form',
    });
  });

  test.each([
    ['duplicate Host', 'Host: site.test\r\nHost: evil.test'],
    ['duplicate identical Host', 'Host: site.test\r\nHost: site.test'],
    ['no Host', 'X-Nothing: 1'],
    ['Host with userinfo', 'Host: evil.test@site.test'],
    ['Host with a path', 'Host: site.test/admin'],
    ['Host with a space', 'Host: site.test evil.test'],
    ['empty Host', 'Host: '],
  ])('%s → 400', async (_name, headers) => {
    const reply = await send('/', headers);
    expect(reply.status).toBe(400);
    expect(upstreamSaw(reply.id)).toBeUndefined();
  });

  test('a Host that differs only in case, port or trailing dot is the same host', async () => {
    for (const host of ['SITE.TEST', 'site.test.', `site.test:${stack.port}`]) {
      expect((await send('/public', `Host: ${host}`)).status).toBe(200);
    }
  });

  test('X-Forwarded-Host, X-Original-URL and X-Rewrite-URL decide nothing and are not forwarded', async () => {
    const reply = await send(
      '/public',
      'Host: site.test\r\nX-Forwarded-Host: admin.site.test\r\nX-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\nX-Forwarded-Uri: /admin\r\nX-Forwarded-Prefix: /admin',
    );
    expect(reply.status).toBe(200);
    const seen = upstreamSaw(reply.id)!;
    expect(seen.url).toBe('/public');
    expect(seen.headers['x-forwarded-host']).toBe('site.test');
    for (const name of ['x-original-url', 'x-rewrite-url', 'x-forwarded-uri', 'x-forwarded-prefix'])
      expect(seen.headers[name]).toBeUndefined();
  });

  test('identity headers with underscores or odd case never reach the upstream', async () => {
    const spoofed = [
      'X_Forwarded_Email: ceo@corp.example',
      'X_FORWARDED_USER: ceo',
      'x-forwarded_groups: admins',
      'X-Forwarded-Email: ceo@corp.example',
      'X_ZTNA_Assertion: forged',
      'X-Ztna-Assertion: forged',
      'X_Device_Posture: forged',
      'Remote_User: ceo',
    ];
    const reply = await send('/public', ['Host: site.test', ...spoofed].join('\r\n'));
    expect(reply.status).toBe(200);
    const names = upstreamSaw(reply.id)!
      .rawHeaders.filter((_, i) => i % 2 === 0)
      .map((n) => n.toLowerCase().replaceAll('_', '-'));
    for (const name of [
      'x-forwarded-email',
      'x-forwarded-user',
      'x-forwarded-groups',
      'x-ztna-assertion',
      'x-device-posture',
      'remote-user',
    ]) {
      expect(names).not.toContain(name);
    }
  });

  test('headers the client names in Connection are dropped, but never the ones the gateway sets', async () => {
    const reply = await send(
      '/public',
      'Host: site.test\r\nX-Secret-Hop: 1\r\nConnection: X-Secret-Hop, X-Forwarded-For, X-Request-Id',
    );
    expect(reply.status).toBe(200);
    const seen = upstreamSaw(reply.id)!;
    expect(seen.headers['x-secret-hop']).toBeUndefined();
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  test('obsolete line folding is refused (it hides one header inside another)', async () => {
    const reply = await send(
      '/public',
      'Host: site.test\r\nX-Note: a\r\n X-Forwarded-Email: ceo@corp.example',
    );
    expect(reply.status).toBe(400);
    expect(upstreamSaw(reply.id)).toBeUndefined();
  });
});

describe('request smuggling', () => {
  const smuggled = 'GET /admin HTTP/1.1\r\nHost: site.test\r\n\r\n';

  test.each([
    [
      'Content-Length with Transfer-Encoding (CL.TE)',
      `Content-Length: ${5 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    ],
    [
      'Transfer-Encoding with Content-Length (TE.CL)',
      `Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${smuggled}\r\n0\r\n\r\n`,
    ],
    [
      'two different Content-Lengths',
      `Content-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
    ],
    [
      'Transfer-Encoding not ending in chunked',
      `Transfer-Encoding: chunked, identity\r\n\r\n${smuggled}`,
    ],
    ['obfuscated Transfer-Encoding', `Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ['space before the colon', `Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ['bad chunk size', `Transfer-Encoding: chunked\r\n\r\n-5\r\n${smuggled}\r\n0\r\n\r\n`],
    ['bare LF line endings', `Transfer-Encoding: chunked\n\n0\n\n${smuggled}`],
  ])('%s → 400; nothing reaches the upstream', async (_name, rest) => {
    const before = stack.upstream.seen.length;
    const reply = await rawRequest(
      stack.port,
      `POST /public HTTP/1.1\r\nHost: site.test\r\n${rest}`,
    );
    expect(reply.status).toBe(400);
    // Give a smuggled request time to arrive, if one had slipped through.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stack.upstream.seen.length).toBe(before);
    expect(adminRequestsSeen()).toEqual([]);
  });

  test('a GET with a chunked body reaches the upstream framed, as one request', async () => {
    const before = stack.upstream.seen.length;
    const reply = await rawRequest(
      stack.port,
      `GET /public HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
    );
    expect(reply.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stack.upstream.seen.length).toBe(before + 1);
    expect(stack.upstream.last().body.toString()).toBe(smuggled);
    expect(adminRequestsSeen()).toEqual([]);
  });
});

describe('property: what the policy judges is what the upstream receives', () => {
  // Pieces attackers combine: separators, dots, encodings of both, params, odd bytes.
  const piece = fc.oneof(
    fc.constantFrom(
      '/',
      '//',
      '.',
      '..',
      'admin',
      'ADMIN',
      'public',
      ';',
      ';x=1',
      '%2e',
      '%2E',
      '%2f',
      '%2F',
      '%5c',
      '\\',
      '%00',
      '%25',
      '%252e',
      '%c0%ae',
      '%e2%80%ae',
      '%61',
      '?',
      '#',
      '%3f',
      '~',
      '%7e',
    ),
    fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  );
  const target = fc.array(piece, { minLength: 1, maxLength: 12 }).map((p) => '/' + p.join(''));

  test('any target: 400, or the upstream gets the canonical path of the route that decided', async () => {
    await fc.assert(
      fc.asyncProperty(target, async (raw) => {
        const reply = await send(raw);
        const seen = upstreamSaw(reply.id);
        const line = await stack.auditLine((l) => l.request_id === reply.id);
        if (reply.status === 400) {
          expect(seen).toBeUndefined();
          return;
        }
        if (line.route === 'admin') {
          // No session: the admin route never forwards.
          expect(reply.status).toBe(401);
          expect(seen).toBeUndefined();
          return;
        }
        expect(reply.status).toBe(200);
        expect(seen).toBeDefined();
        const path = seen!.url.split('?')[0]!;
        expect(path).toBe(line.path);
        expect(routeOf(path)).toBe(line.route);
        expect(path).not.toMatch(/\/\/|%2f|%5c|\\/i);
        expect(path.split('/')).not.toContain('..');
      }),
      { numRuns: 400 },
    );
    expect(adminRequestsSeen()).toEqual([]);
  }, 60_000);
});
