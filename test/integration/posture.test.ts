import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { eventually } from '../harness/eventually.js';
import { TestClient } from '../harness/http-client.js';
import { COMPLIANT, createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { wsRoundTrip } from '../harness/ws-client.js';

let stack: Stack;
let mdm: PostureIssuer;
let edr: PostureIssuer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-posture-'));
  mdm = await createPostureIssuer('https://mdm.test');
  edr = await createPostureIssuer('https://edr.test');
  await mdm.writeJwks(join(dir, 'mdm-jwks.json'));
  stack = await startStack({
    gatewayExtra: `posture:
  issuers:
    - issuer: https://mdm.test
      audience: ztna-gateway
      jwks_file: ${join(dir, 'mdm-jwks.json')}
    - issuer: https://edr.test
      audience: ztna-gateway
      jwks_uri: ${edr.jwksUrl}
  trusted_proxies: [127.0.0.2/32]`,
    routes: (upstream) => `version: 1
posture_profiles:
  baseline:
    managed: true
    disk_encrypted: true
    edr_running: true
    min_os_version: { macos: "14.4", windows: "10.0.19045" }
    max_age: 15m
routes:
  - name: secure
    host: secure.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true, posture: baseline } ] }
  - name: open
    host: open.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
`,
  });
});

afterAll(async () => {
  await stack.close();
  await Promise.all([mdm.close(), edr.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** A signed-in browser on a device whose agent adds `assertion` to every request. */
async function device(assertion: string | undefined, host = 'secure.test'): Promise<TestClient> {
  const client = new TestClient();
  if (assertion !== undefined) client.defaultHeaders = { 'x-device-posture': assertion };
  await stack.login(client, 'alice', stack.url(host, '/'));
  return client;
}

async function denial(
  client: TestClient,
  host = 'secure.test',
): Promise<{ status: number; reason?: string; request_id?: string }> {
  const reply = await client.request(stack.url(host, '/x'), {
    headers: { accept: 'application/json' },
  });
  return { status: reply.status, ...(reply.status !== 200 && reply.json()) };
}

describe('signed posture assertions', () => {
  test('a compliant device gets in; the upstream never sees the assertion; the audit names the device', async () => {
    const client = await device(await mdm.mint(COMPLIANT, { sub: 'laptop-7' }));
    const reply = await client.request(stack.url('secure.test', '/compliant'));
    expect(reply.status).toBe(200);
    const seen = stack.upstream.last();
    expect(seen.headers['x-device-posture']).toBeUndefined();
    expect(await stack.auditLine((l) => l.path === '/compliant')).toMatchObject({
      device_id: 'laptop-7',
      posture: 'pass',
      decision: 'allow',
    });
  });

  /** Signs in with `assertion` on the device; returns the request's denial and the refusal logged. */
  async function refusal(
    assertion: string,
  ): Promise<{ status: number; reason?: string; logged?: unknown }> {
    const result = await denial(await device(assertion));
    const logged = await eventually(() =>
      stack.logLines.findLast(
        (l) => l.msg === 'posture assertion refused' && l.request_id === result.request_id,
      ),
    ).catch(() => undefined);
    return { status: result.status, reason: result.reason, logged: logged?.reason };
  }

  test('the JWT attack set: each refused with its reason, counted as invalid, and the route denies', async () => {
    const before = sampleValue(await stack.metrics(), 'ztna_posture_checks_total', {
      result: 'invalid',
    });
    const attacks = [
      ...(await mdm.attacks(COMPLIANT, { sub: 'laptop-7' })),
      [
        'issued in the future (iat)',
        await mdm.mint(COMPLIANT, { iat: 600, exp: 900 }),
        'not_yet_valid',
      ] as const,
      [
        'claims of the wrong type',
        await mdm.mint({ ...COMPLIANT, disk_encrypted: 'yes' }),
        'bad_claims',
      ] as const,
    ];
    const outcomes: unknown[] = [];
    for (const [name, token] of attacks) outcomes.push({ name, ...(await refusal(token)) });
    expect(outcomes).toEqual(
      attacks.map(([name, , reason]) => ({
        name,
        status: 403,
        reason: 'deny:posture.missing',
        logged: reason,
      })),
    );
    expect(
      sampleValue(await stack.metrics(), 'ztna_posture_checks_total', { result: 'invalid' }),
    ).toBeGreaterThanOrEqual(before + attacks.length);
  });

  test('the deny page tells people what to fix, in their words', async () => {
    const unencrypted = await device(await mdm.mint({ ...COMPLIANT, disk_encrypted: false }));
    const page = await unencrypted.navigate(stack.url('secure.test', '/'));
    expect(page.status).toBe(403);
    expect(page.text).toContain('Disk encryption is off on this device');
    expect(page.text).toContain('deny:posture.disk_encrypted');
    expect(page.text).not.toContain('baseline');

    const outdated = await device(await mdm.mint({ ...COMPLIANT, os_version: '14.3' }));
    const text = (await outdated.navigate(stack.url('secure.test', '/'))).text;
    expect(text).toContain('macOS 14.4 or newer is required (this device reports 14.3)');
  });

  test('stale evidence does not count (max_age)', async () => {
    const client = await device(await mdm.mint(COMPLIANT, { iat: -20 * 60, exp: 300 }));
    expect(await denial(client)).toMatchObject({ status: 403, reason: 'deny:posture.max_age' });
  });

  test('posture is judged on every request: a device falling out of compliance is denied at once', async () => {
    const client = await device(await mdm.mint(COMPLIANT));
    expect((await client.request(stack.url('secure.test', '/a'))).status).toBe(200);
    client.defaultHeaders = {
      'x-device-posture': await mdm.mint({ ...COMPLIANT, edr_running: false }),
    };
    expect(await denial(client)).toMatchObject({ status: 403, reason: 'deny:posture.edr_running' });
  });

  test('a remote JWKS issuer works, and its key rotation is picked up', async () => {
    const client = await device(await edr.mint(COMPLIANT));
    expect((await client.request(stack.url('secure.test', '/edr'))).status).toBe(200);
    await edr.rotate('k2');
    const newToken = await edr.mint(COMPLIANT);
    // The gateway refetches the JWKS for an unknown kid, at most every 5 s.
    await new Promise((r) => setTimeout(r, 5200));
    client.defaultHeaders = { 'x-device-posture': newToken };
    expect((await client.request(stack.url('secure.test', '/edr-rotated'))).status).toBe(200);
  }, 20_000);

  test('a JWKS file rotation is picked up as soon as a new kid shows up', async () => {
    await mdm.rotate('k2');
    await mdm.writeJwks(join(dir, 'mdm-jwks.json'));
    const client = await device(await mdm.mint(COMPLIANT));
    expect((await client.request(stack.url('secure.test', '/mdm-rotated'))).status).toBe(200);
  });
});

describe('plain X-Device-* headers', () => {
  const headers = {
    'x-device-id': 'kiosk-3',
    'x-device-managed': 'true',
    'x-device-os': 'macOS',
    'x-device-os-version': '14.6',
    'x-device-disk-encrypted': 'true',
    'x-device-edr': 'true',
  };

  test('are believed from a trusted posture proxy', async () => {
    const client = await device(undefined);
    const reply = await client.request(stack.url('secure.test', '/via-proxy'), {
      localAddress: '127.0.0.2',
      headers,
    });
    expect(reply.status).toBe(200);
    expect(await stack.auditLine((l) => l.path === '/via-proxy')).toMatchObject({
      device_id: 'kiosk-3',
      posture: 'pass',
    });
  });

  test('are ignored, counted as spoof attempts and stripped from anyone else', async () => {
    const client = await device(undefined);
    await stack.login(client, 'alice', stack.url('open.test', '/'));
    const before = sampleValue(await stack.metrics(), 'ztna_posture_checks_total', {
      result: 'untrusted_source',
    });
    const secure = await client.request(stack.url('secure.test', '/spoofed'), {
      headers: { ...headers, accept: 'application/json' },
    });
    expect(secure.status).toBe(403);
    await client.request(stack.url('open.test', '/spoofed'), { headers });
    const seen = stack.upstream.last();
    expect(Object.keys(seen.headers).filter((h) => h.startsWith('x-device-'))).toEqual([]);
    const after = sampleValue(await stack.metrics(), 'ztna_posture_checks_total', {
      result: 'untrusted_source',
    });
    expect(after - before).toBe(2);
  });
});

describe('device binding', () => {
  test('the device seen at login is bound; another device with the same cookie must sign in again', async () => {
    const client = await device(await mdm.mint(COMPLIANT, { sub: 'laptop-alice' }));
    const cookie = await client.jar.getCookieString(stack.url('secure.test', '/'));
    const thief = new TestClient();
    thief.defaultHeaders = {
      'x-device-posture': await mdm.mint(COMPLIANT, { sub: 'laptop-thief' }),
      cookie,
    };
    const before = sampleValue(await stack.metrics(), 'ztna_auth_events_total', {
      event: 'revoked',
    });
    const stolen = await thief.request(stack.url('secure.test', '/stolen'), {
      noCookies: true,
      headers: { accept: 'text/html' },
    });
    expect(stolen.status).toBe(302);
    expect(stolen.location).toContain('/.ztna/login');
    expect(sampleValue(await stack.metrics(), 'ztna_auth_events_total', { event: 'revoked' })).toBe(
      before + 1,
    );
    // The session is gone for everyone, the rightful device included: it must sign in again.
    expect((await client.request(stack.url('secure.test', '/after'))).status).toBe(401);
  });

  describe('a bound session without evidence from its device signs in again (device_missing)', () => {
    const untrustedHeaders = {
      'x-device-id': 'laptop-bound',
      'x-device-managed': 'true',
      'x-device-os': 'macOS',
      'x-device-os-version': '14.6',
      'x-device-disk-encrypted': 'true',
      'x-device-edr': 'true',
    };
    test.each<[string, () => Promise<Record<string, string>>]>([
      ['no evidence at all', async () => ({})],
      [
        'an assertion that is refused (alg none)',
        async () => ({ 'x-device-posture': mdm.unsigned() }),
      ],
      [
        'plain X-Device-* headers naming the device, from an untrusted peer',
        async () => untrustedHeaders,
      ],
    ])('%s: not served, the session ends, counted as revoked', async (_name, evidence) => {
      const assertion = await mdm.mint(COMPLIANT, { sub: 'laptop-bound' });
      const client = await device(assertion, 'open.test');
      expect((await client.request(stack.url('open.test', '/with-device'))).status).toBe(200);
      const before = sampleValue(await stack.metrics(), 'ztna_auth_events_total', {
        event: 'revoked',
      });
      client.defaultHeaders = await evidence();
      // On a route with no posture requirement: binding is about the session, not the policy.
      const page = await client.request(stack.url('open.test', '/without-device'), {
        headers: { accept: 'text/html' },
      });
      expect(page.status).toBe(302);
      expect(page.location).toContain('/.ztna/login');
      expect(stack.upstream.seen.some((r) => r.url === '/without-device')).toBe(false);
      expect(
        await stack.auditLine((l) => l.path === '/without-device' && l.status === 302),
      ).toMatchObject({ decision: 'login', reason: 'device_missing', route: 'open' });
      expect(
        sampleValue(await stack.metrics(), 'ztna_auth_events_total', { event: 'revoked' }),
      ).toBe(before + 1);
      // Ended, not only redirected: the device's own evidence no longer revives it.
      client.defaultHeaders = { 'x-device-posture': assertion };
      expect((await client.request(stack.url('open.test', '/back-again'))).status).toBe(401);
    });

    test('signing in again without evidence gives an unbound session that is served: no loop', async () => {
      const client = await device(await mdm.mint(COMPLIANT, { sub: 'laptop-quiet' }), 'open.test');
      client.defaultHeaders = {};
      // The agent stopped reporting: one sign-in (silent at the IdP), then served.
      expect((await client.request(stack.url('open.test', '/agent-stopped'))).status).toBe(401);
      await stack.login(client, 'alice', stack.url('open.test', '/'));
      expect((await client.request(stack.url('open.test', '/agent-stopped'))).status).toBe(200);
      expect((await client.request(stack.url('open.test', '/agent-stopped'))).status).toBe(200);
      const me = (
        await client.request(stack.url('open.test', '/.ztna/me'), {
          headers: { accept: 'application/json' },
        })
      ).json<{ session: { device_id: string | null } }>();
      expect(me.session.device_id).toBeNull();
      // When the agent reports again, that device is bound once more.
      client.defaultHeaders = {
        'x-device-posture': await mdm.mint(COMPLIANT, { sub: 'laptop-quiet' }),
      };
      expect((await client.request(stack.url('open.test', '/agent-back'))).status).toBe(200);
      client.defaultHeaders = {};
      expect((await client.request(stack.url('open.test', '/agent-gone'))).status).toBe(401);
    });
  });

  test('a signed posture naming another user is a deny, on every route', async () => {
    const client = await device(
      await mdm.mint({ ...COMPLIANT, email: 'bob@corp.example' }),
      'open.test',
    );
    expect(await denial(client, 'open.test')).toMatchObject({
      status: 403,
      reason: 'deny:posture.user_mismatch',
    });
    const page = await client.navigate(stack.url('open.test', '/'));
    expect(page.text).toContain('belongs to someone else');
  });

  test('a signed posture for the right user passes', async () => {
    const client = await device(await mdm.mint({ ...COMPLIANT, email: 'ALICE@corp.example' }));
    expect((await client.request(stack.url('secure.test', '/mine'))).status).toBe(200);
  });
});

describe('/.ztna/me and WebSockets', () => {
  test('/.ztna/me shows the device, its posture and each profile’s verdict', async () => {
    const client = await device(
      await mdm.mint({ ...COMPLIANT, os_version: '14.2' }, { sub: 'laptop-me' }),
    );
    const me = (
      await client.request(stack.url('secure.test', '/.ztna/me'), {
        headers: { accept: 'application/json' },
      })
    ).json<{
      session: { device_id: string };
      device: { source: string; posture: { os_version: string }; profiles: Record<string, string> };
    }>();
    expect(me.session.device_id).toBe('laptop-me');
    expect(me.device).toMatchObject({
      source: 'assertion',
      posture: { os_version: '14.2' },
      profiles: { baseline: 'min_os_version' },
    });
    const html = await client.navigate(stack.url('secure.test', '/.ztna/me'));
    expect(html.text).toContain('Profile baseline');
    expect(html.text).toContain('fails: min_os_version');
  });

  test('WebSocket upgrades are judged on posture too', async () => {
    const assertion = await mdm.mint(COMPLIANT);
    const client = await device(assertion);
    const cookie = await client.jar.getCookieString(stack.url('secure.test', '/ws'));
    expect(
      await wsRoundTrip(stack.port, 'secure.test', '/ws', cookie, 'hi', {
        'x-device-posture': assertion,
      }),
    ).toEqual({ reply: 'alice:hi' });
    const unencrypted = await mdm.mint({ ...COMPLIANT, disk_encrypted: false });
    expect(
      await wsRoundTrip(stack.port, 'secure.test', '/ws', cookie, 'hi', {
        'x-device-posture': unencrypted,
      }),
    ).toEqual({ status: 403 });
    // The session is bound to the device (SPEC §6): an upgrade without its evidence is not a
    // posture denial but a sign-in (device_missing), and the session ends.
    expect(await wsRoundTrip(stack.port, 'secure.test', '/ws', cookie, 'hi')).toEqual({
      status: 401,
    });
    expect(
      await stack.auditLine((l) => l.path === '/ws' && l.reason === 'device_missing'),
    ).toMatchObject({ decision: 'login', websocket: true });
    expect(
      await wsRoundTrip(stack.port, 'secure.test', '/ws', cookie, 'hi', {
        'x-device-posture': assertion,
      }),
    ).toEqual({ status: 401 });
  });
});
