import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { COMPLIANT, createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { rawRequest } from '../harness/raw-http.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * An attacker's review of issue 12 (session integrity and identity correctness): what got
 * past the change, from the positions of test/security/README.md. Each test is a bypass that
 * works against the merged code.
 */

let stack: Stack;
let mdm: PostureIssuer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-review-'));
  mdm = await createPostureIssuer('https://mdm.test');
  await mdm.writeJwks(join(dir, 'mdm-jwks.json'));
  stack = await startStack({
    gatewayExtra: `posture:
  issuers:
    - issuer: https://mdm.test
      audience: ztna-gateway
      jwks_file: ${join(dir, 'mdm-jwks.json')}`,
    limits: '  failed_signins_per_minute: 5',
    routes: (upstream) => `version: 1
routes:
  - name: site
    host: site.test
    upstream: ${upstream}
    public: true
  - name: open
    host: open.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
  # A policy being rolled out: would-be denials are logged, not enforced (SPEC §4.2).
  - name: rollout
    host: rollout.test
    upstream: ${upstream}
    mode: audit
    policy: { allow: [ { authenticated: true } ] }
`,
  });
}, 60_000);

afterAll(async () => {
  await stack.close();
  await mdm.close();
  await rm(dir, { recursive: true, force: true });
});

describe('position 3 (a stolen cookie): another user’s posture assertion hides the device change', () => {
  /** Alice signs in on her laptop, whose agent sends a signed assertion: the session is bound. */
  async function aliceOnHerLaptop(host: string): Promise<TestClient> {
    const client = new TestClient();
    client.defaultHeaders = {
      'x-device-posture': await mdm.mint(COMPLIANT, { sub: 'alice-laptop' }),
    };
    expect((await stack.login(client, 'alice', stack.url(host, '/'))).status).toBe(200);
    return client;
  }

  /**
   * The thief replays alice's cookie from his own managed laptop, whose agent signs a valid
   * assertion for him (`email: mallory@…`, another device id). judgeDeviceBinding answers
   * `user_mismatch` before it compares device ids, so the session is neither ended nor sent
   * to sign in: SPEC §6 says a different device id "forces re-login".
   */
  async function thiefWith(client: TestClient): Promise<TestClient> {
    client.defaultHeaders = {
      'x-device-posture': await mdm.mint(
        { ...COMPLIANT, email: 'mallory@corp.example' },
        { sub: 'mallory-laptop' },
      ),
    };
    return client;
  }

  test('/.ztna/me shows alice’s session to the thief instead of ending it', async () => {
    const stolen = await thiefWith(await aliceOnHerLaptop('open.test'));
    const me = await stolen.request(stack.url('open.test', '/.ztna/me'), {
      headers: { accept: 'application/json' },
    });
    expect(me.text).not.toContain('alice');
    expect(me.status).toBe(401);
    // Ended: not even alice's own laptop's evidence revives it.
    stolen.defaultHeaders = {
      'x-device-posture': await mdm.mint(COMPLIANT, { sub: 'alice-laptop' }),
    };
    expect((await stolen.request(stack.url('open.test', '/after'))).status).toBe(401);
  });

  test('an audit-mode route forwards the thief’s request with alice’s identity', async () => {
    const stolen = await thiefWith(await aliceOnHerLaptop('rollout.test'));
    const reply = await stolen.request(stack.url('rollout.test', '/stolen-cookie'));
    expect(stack.upstream.seen.some((r) => r.url === '/stolen-cookie')).toBe(false);
    expect(reply.status).toBe(401);
    expect(await stack.auditLine((l) => l.path === '/stolen-cookie')).toMatchObject({
      decision: 'login',
      reason: 'device_changed',
    });
  });
});

describe('position 6 (a cross-site page): locking an office out of sign-in', () => {
  test('image tags on any web page an office browser opens spend the whole office’s failed sign-ins', async () => {
    // The office's NAT address.
    const office = '127.0.0.31';
    // A page on evil.example, opened by one person in the office, embeds
    // <img src="https://app/.ztna/callback?code=c&state=s"> a few times: no login-state
    // cookie (a cross-site subresource gets no SameSite=Lax cookie), nothing reaches the IdP,
    // it costs the gateway nothing, and yet each counts as a failed sign-in of the address.
    for (let i = 0; i < 6; i++) {
      const img = new TestClient();
      img.localAddress = office;
      await img.request(stack.url('open.test', `/.ztna/callback?code=c${i}&state=s${i}`), {
        headers: {
          'sec-fetch-site': 'cross-site',
          'sec-fetch-mode': 'no-cors',
          'sec-fetch-dest': 'image',
          referer: 'https://evil.example/',
        },
      });
    }
    // A colleague at the next desk now tries to sign in, and is refused.
    const colleague = new TestClient();
    colleague.localAddress = office;
    const reply = await stack.login(colleague, 'bob', stack.url('open.test', '/'));
    expect(reply.status).toBe(200);
  });
});

/** A raw GET as the upstream will see it; the request id finds it in the upstream's record. */
async function forwarded(host: string, target: string, headers: readonly string[]) {
  const id = `review-r1-${Math.random().toString(36).slice(2, 12)}`;
  const reply = await rawRequest(
    stack.port,
    `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${headers.map((h) => `${h}\r\n`).join('')}X-Request-Id: ${id}\r\nConnection: close\r\n\r\n`,
  );
  return { reply, seen: stack.upstream.seen.find((r) => r.headers['x-request-id'] === id) };
}

describe('position 1 (anonymous): client-IP and scheme headers stripping misses', () => {
  test('the client-IP headers request-ip (Express) and others read first reach the upstream', async () => {
    // request-ip tries x-client-ip before anything else, then x-forwarded-for, cf-connecting-ip,
    // fastly-client-ip, true-client-ip, x-real-ip, x-cluster-client-ip, x-forwarded,
    // forwarded-for: an app logging or rate-limiting with it takes the client's word.
    const { reply, seen } = await forwarded('site.test', '/client-ip', [
      'X-Client-IP: 10.0.0.1',
      'X-Cluster-Client-IP: 10.0.0.1',
      'Fastly-Client-IP: 10.0.0.1',
      'Forwarded-For: 10.0.0.1',
      'X-Forwarded: for=10.0.0.1',
    ]);
    expect(reply.status).toBe(200);
    const names = Object.keys(seen!.headers);
    expect(names.filter((n) => JSON.stringify(seen!.headers[n]).includes('10.0.0.1'))).toEqual([]);
  });

  test('scheme headers Rack and others believe over X-Forwarded-Proto reach the upstream', async () => {
    // Rack's Request#scheme reads X-Forwarded-Ssl and X-Forwarded-Scheme before
    // X-Forwarded-Proto: over plain HTTP the app is told it is on HTTPS (and the reverse).
    const { reply, seen } = await forwarded('site.test', '/scheme', [
      'X-Forwarded-Ssl: on',
      'X-Forwarded-Scheme: https',
      'Front-End-Https: on',
      'X-Url-Scheme: https',
    ]);
    expect(reply.status).toBe(200);
    expect(seen!.headers['x-forwarded-proto']).toBe('http');
    for (const name of ['x-forwarded-ssl', 'x-forwarded-scheme', 'front-end-https', 'x-url-scheme'])
      expect(seen!.headers[name]).toBeUndefined();
  });
});

describe('position 1 (anonymous): a double-encoded ";" becomes "..;" upstream', () => {
  test.each(['/public/..%253B/admin', '/public/..%253b/admin', '/public/..%25253B/admin'])(
    '%s → 400 (an upstream that decodes twice reads "/public/..;/admin", which servlet containers resolve to /admin)',
    async (target) => {
      const { reply, seen } = await forwarded('site.test', target, ['Accept: application/json']);
      expect(seen).toBeUndefined();
      expect(reply.status).toBe(400);
    },
  );
});
