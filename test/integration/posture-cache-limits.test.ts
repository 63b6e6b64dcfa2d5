import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { eventually } from '../harness/eventually.js';
import { TestClient } from '../harness/http-client.js';
import { COMPLIANT, createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

// SPEC §6: "Cached verifications never outlive the evidence's limits (`max_age`, the 24 h
// ceiling, a key removed from the JWKS)." The gateway verifies a token once and remembers the
// verdict; these tests send the very same token again after the gateway's clock moved, or
// after its key left the issuer's JWKS, and expect it refused.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let stack: Stack;
let mdm: PostureIssuer;
let edr: PostureIssuer;
let k8s: PostureIssuer;
let dir: string;
/** The gateway's clock (DESIGN §6): moved by the tests, never by fake timers. */
let clock = Date.now();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-posture-cache-'));
  mdm = await createPostureIssuer('https://mdm.test');
  edr = await createPostureIssuer('https://edr.test');
  k8s = await createPostureIssuer('https://kubernetes.default.svc');
  await mdm.writeJwks(join(dir, 'mdm-jwks.json'));
  await k8s.writeJwks(join(dir, 'k8s-jwks.json'));
  stack = await startStack({
    now: () => clock,
    sessionExtra: '  max_age: 30d\n  idle_timeout: 30d',
    // IdP tokens outlive every clock move here: no refresh gets in the way.
    idp: { accessTokenTtlSeconds: 30 * 86_400 },
    gatewayExtra: `posture:
  issuers:
    - issuer: https://mdm.test
      audience: ztna-gateway
      jwks_file: ${join(dir, 'mdm-jwks.json')}
    - issuer: https://edr.test
      audience: ztna-gateway
      jwks_uri: ${edr.jwksUrl}
service_tokens:
  - issuer: https://kubernetes.default.svc
    audiences: [ztna-gateway]
    jwks_file: ${join(dir, 'k8s-jwks.json')}`,
    routes: (upstream) => `version: 1
routes:
  - name: managed
    host: managed.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true, posture: { managed: true } } ] }
  - name: fresh
    host: fresh.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true, posture: { managed: true, max_age: 15m } } ] }
  - name: api
    host: api.test
    upstream: ${upstream}
    auth: [bearer]
    policy: { allow: [ { authenticated: true } ] }
`,
  });
});

afterAll(async () => {
  await stack.close();
  await Promise.all([mdm.close(), edr.close(), k8s.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** A signed-in browser whose device agent adds `assertion` to every request after sign-in. */
async function browserWith(assertion: string, host: string): Promise<TestClient> {
  clock = Date.now();
  const client = new TestClient();
  await stack.login(client, 'alice', stack.url(host, '/'));
  client.defaultHeaders = { 'x-device-posture': assertion };
  return client;
}

/** Why the gateway refused the assertion of the request at `path` (its log line). */
async function refusalOf(path: string): Promise<unknown> {
  const audit = await stack.auditLine((l) => l.path === path);
  const logged = await eventually(() =>
    stack.logLines.findLast(
      (l) => l.msg === 'posture assertion refused' && l.request_id === audit.request_id,
    ),
  );
  return { decision: audit.decision, reason: audit.reason, refused: logged.reason };
}

describe('a cached posture verdict is re-checked against the evidence’s age', () => {
  test('the 24 h ceiling: a token issued almost a day ago with a week left stops counting', async () => {
    // Issued 23 h 58 min ago; with the 60 s clock skew it may count for 3 more minutes.
    const assertion = await mdm.mint(COMPLIANT, {
      sub: 'laptop-ceiling',
      iat: -(24 * 3600 - 120),
      exp: 7 * 86_400,
    });
    const client = await browserWith(assertion, 'managed.test');
    expect((await client.request(stack.url('managed.test', '/day-old'))).status).toBe(200);
    clock += 5 * MINUTE;
    // The same token: the session is bound to the device, so refused evidence is a new sign-in.
    expect((await client.request(stack.url('managed.test', '/over-a-day-old'))).status).toBe(401);
    expect(await refusalOf('/over-a-day-old')).toEqual({
      decision: 'login',
      reason: 'device_missing',
      refused: 'expired',
    });
  });

  test('the profile’s max_age is judged on every request from the evidence’s iat', async () => {
    const assertion = await mdm.mint(COMPLIANT, {
      sub: 'laptop-max-age',
      iat: -14 * 60,
      exp: HOUR / 1000,
    });
    const client = await browserWith(assertion, 'fresh.test');
    expect((await client.request(stack.url('fresh.test', '/14-minutes-old'))).status).toBe(200);
    clock += 2 * MINUTE;
    const stale = await client.request(stack.url('fresh.test', '/16-minutes-old'), {
      headers: { accept: 'application/json' },
    });
    expect(stale.status).toBe(403);
    expect(stale.json()).toMatchObject({ reason: 'deny:posture.max_age' });
  });
});

describe('a cached verdict falls with its key', () => {
  test('a key removed from a JWKS file: the same token is refused once the file is re-checked (5 s)', async () => {
    const assertion = await mdm.mint(COMPLIANT, { sub: 'laptop-file-key' });
    const client = await browserWith(assertion, 'managed.test');
    expect((await client.request(stack.url('managed.test', '/file-key'))).status).toBe(200);
    await mdm.rotate('k2');
    mdm.retire('k1');
    await mdm.writeJwks(join(dir, 'mdm-jwks.json'));
    clock += 6_000;
    expect((await client.request(stack.url('managed.test', '/file-key-retired'))).status).toBe(401);
    expect(await refusalOf('/file-key-retired')).toEqual({
      decision: 'login',
      reason: 'device_missing',
      refused: 'unknown_key',
    });
  });

  test('a clock set back counts as a re-check of the JWKS file, never as one done in the future', async () => {
    const assertion = await mdm.mint(COMPLIANT, { sub: 'laptop-clock-back' });
    const client = await browserWith(assertion, 'managed.test');
    clock += 10_000; // due: the file is checked now, at sign-in + 10 s
    expect((await client.request(stack.url('managed.test', '/clock-back'))).status).toBe(200);
    // Within 5 s of the last check the cached verdict stands without asking the key set.
    expect((await client.request(stack.url('managed.test', '/clock-back-cached'))).status).toBe(
      200,
    );
    const { kid } = JSON.parse(Buffer.from(assertion.split('.')[0]!, 'base64url').toString()) as {
      kid: string;
    };
    await mdm.rotate(`${kid}-next`);
    mdm.retire(kid);
    await mdm.writeJwks(join(dir, 'mdm-jwks.json'));
    clock -= 5_000; // before the last check, after the sign-in
    expect((await client.request(stack.url('managed.test', '/clock-back-retired'))).status).toBe(
      401,
    );
    expect(await refusalOf('/clock-back-retired')).toMatchObject({ refused: 'unknown_key' });
  });

  test('a key removed from a remote JWKS: refused once the JWKS is refetched (a new kid, after the 5 s cooldown)', async () => {
    const assertion = await edr.mint(COMPLIANT, { sub: 'laptop-remote-key' });
    const client = await browserWith(assertion, 'managed.test');
    expect((await client.request(stack.url('managed.test', '/remote-key'))).status).toBe(200);
    await edr.rotate('k2');
    edr.retire('k1');
    // The device's next report, signed with the new key, makes the gateway refetch the JWKS
    // (at most every 5 s of real time: jose keeps its own clock for its key set).
    await new Promise((resolve) => setTimeout(resolve, 5200));
    client.defaultHeaders = {
      'x-device-posture': await edr.mint(COMPLIANT, { sub: 'laptop-remote-key' }),
    };
    expect((await client.request(stack.url('managed.test', '/remote-new-key'))).status).toBe(200);
    // A replay of the old report, verified and cached before, is now refused.
    client.defaultHeaders = { 'x-device-posture': assertion };
    expect((await client.request(stack.url('managed.test', '/remote-old-key'))).status).toBe(401);
    expect(await refusalOf('/remote-old-key')).toEqual({
      decision: 'login',
      reason: 'device_missing',
      refused: 'unknown_key',
    });
  }, 20_000);

  test('service bearer tokens share the rule: a retired key’s cached token is refused', async () => {
    clock = Date.now();
    const token = await k8s.mint({}, { sub: 'system:serviceaccount:prod:checkout' });
    const call = (path: string) =>
      new TestClient().request(stack.url('api.test', path), {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
    expect((await call('/service')).status).toBe(200);
    await k8s.rotate('k2');
    k8s.retire('k1');
    await k8s.writeJwks(join(dir, 'k8s-jwks.json'));
    clock += 6_000;
    const refused = await call('/service-key-retired');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toContain('invalid_token');
    expect(await stack.auditLine((l) => l.path === '/service-key-retired')).toMatchObject({
      decision: 'login',
      reason: 'bearer:unknown_key',
    });
  });
});
