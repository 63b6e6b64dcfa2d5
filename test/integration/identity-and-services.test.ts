import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { generateAssertionKey } from '../../src/assertion/keys.js';
import { TestClient } from '../harness/http-client.js';
import { createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { wsRoundTrip } from '../harness/ws-client.js';

let stack: Stack;
let dir: string;
let k8s: PostureIssuer;
let oldKey: JWK;
let newKey: JWK;

const CHECKOUT = 'system:serviceaccount:prod:checkout';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-identity-'));
  k8s = await createPostureIssuer('https://kubernetes.default.svc', 'ztna-gateway');
  await k8s.writeJwks(join(dir, 'k8s-jwks.json'));
  oldKey = await generateAssertionKey();
  newKey = await generateAssertionKey();
  await writeFile(join(dir, 'assertion-keys.json'), JSON.stringify({ keys: [oldKey, newKey] }));
  stack = await startStack({
    gatewayExtra: `assertion:
  key_file: ${join(dir, 'assertion-keys.json')}
  ttl: 2s
service_tokens:
  - issuer: https://kubernetes.default.svc
    audiences: [ztna-gateway]
    jwks_file: ${join(dir, 'k8s-jwks.json')}`,
    routes: (upstream) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
  - name: grafana
    host: grafana.test
    upstream: ${upstream}
    identity_headers: { user: X-WEBAUTH-USER, email: X-WEBAUTH-EMAIL }
    policy: { allow: [ { authenticated: true } ] }
  - name: payments-api
    host: api.test
    upstream: ${upstream}
    auth: [bearer]
    policy:
      allow:
        - subjects: ["${CHECKOUT}"]
        - claims: { "kubernetes.io.namespace": [billing] }
  - name: mixed
    host: mixed.test
    upstream: ${upstream}
    auth: [session, bearer]
    policy: { allow: [ { authenticated: true } ] }
`,
  });
});

afterAll(async () => {
  await stack.close();
  await k8s.close();
  await rm(dir, { recursive: true, force: true });
});

/** jose's fetch for JWKS, resolving the virtual *.test hosts to the gateway on loopback. */
function loopbackFetch(url: string): Promise<Response> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    httpRequest(
      {
        host: '127.0.0.1',
        port: target.port,
        path: target.pathname,
        headers: { host: target.host },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve(
            new Response(Buffer.concat(chunks), {
              status: res.statusCode ?? 500,
              headers: { 'content-type': 'application/json' },
            }),
          ),
        );
      },
    )
      .on('error', reject)
      .end();
  });
}

/**
 * The assertion's `iss` for routes on app.test: the route's public URL, from configuration
 * (SPEC §8), without the test listener's port that clients put in Host.
 */
const APP_ISSUER = 'http://app.test';

/** What an upstream app does with the assertion: verify it against the gateway's JWKS with jose. */
async function verifyAsUpstream(token: string, origin: string, audience: string) {
  const jwks = createRemoteJWKSet(new URL(`${origin}/.ztna/jwks.json`), {
    [customFetch]: loopbackFetch,
  });
  return (await jwtVerify(token, jwks, { issuer: APP_ISSUER, audience, algorithms: ['ES256'] }))
    .payload;
}

async function signedIn(host: string): Promise<TestClient> {
  const client = new TestClient();
  expect((await stack.login(client, 'alice', stack.url(host, '/'))).status).toBe(200);
  return client;
}

describe('the signed identity assertion', () => {
  test('an upstream verifies it against the gateway JWKS and reads who is calling', async () => {
    const client = await signedIn('app.test');
    await client.request(stack.url('app.test', '/whoami'));
    const token = stack.upstream.last().headers['x-ztna-assertion'] as string;
    const origin = stack.url('app.test', '').replace(/\/$/, '');
    const claims = await verifyAsUpstream(token, origin, 'app');
    expect(claims).toMatchObject({
      iss: APP_ISSUER,
      aud: 'app',
      sub: 'alice',
      email: 'alice@corp.example',
      groups: ['engineering'],
      auth: 'session',
    });
    expect(claims.exp! - claims.iat!).toBe(2);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('it is bound to its route: another audience refuses it', async () => {
    const client = await signedIn('app.test');
    await client.request(stack.url('app.test', '/x'));
    const token = stack.upstream.last().headers['x-ztna-assertion'] as string;
    const origin = stack.url('app.test', '').replace(/\/$/, '');
    await expect(verifyAsUpstream(token, origin, 'grafana')).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    });
  });

  test('it is reused for half its ttl, then signed anew', async () => {
    const client = await signedIn('app.test');
    await client.request(stack.url('app.test', '/one'));
    const first = stack.upstream.last().headers['x-ztna-assertion'];
    await client.request(stack.url('app.test', '/two'));
    expect(stack.upstream.last().headers['x-ztna-assertion']).toBe(first);
    await new Promise((r) => setTimeout(r, 1100));
    await client.request(stack.url('app.test', '/three'));
    expect(stack.upstream.last().headers['x-ztna-assertion']).not.toBe(first);
  });

  test('rotation: the newest key signs, and every key in the file is published', async () => {
    const client = await signedIn('app.test');
    await client.request(stack.url('app.test', '/rotation'));
    const token = stack.upstream.last().headers['x-ztna-assertion'] as string;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: newKey.kid });
    const jwks = (await client.request(stack.url('app.test', '/.ztna/jwks.json'))).json<{
      keys: JWK[];
    }>();
    expect(jwks.keys.map((k) => k.kid)).toEqual([oldKey.kid, newKey.kid]);
    // Only public parts leave the gateway.
    for (const key of jwks.keys) expect(key.d).toBeUndefined();
    expect(
      (await client.request(stack.url('app.test', '/.ztna/jwks.json'))).headers['cache-control'],
    ).toBe('public, max-age=300');
  });

  test('assertions signed with the older key still verify (it is still published)', async () => {
    const { SignJWT, importJWK } = await import('jose');
    const origin = stack.url('app.test', '').replace(/\/$/, '');
    const signedByOld = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: oldKey.kid })
      .setIssuer(APP_ISSUER)
      .setAudience('app')
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(await importJWK(oldKey, 'ES256'));
    await expect(verifyAsUpstream(signedByOld, origin, 'app')).resolves.toMatchObject({
      sub: 'alice',
    });
  });
});

describe('per-route identity headers (Grafana auth proxy)', () => {
  test('the route’s own header names carry the identity; every client copy is stripped, on every route', async () => {
    const client = await signedIn('grafana.test');
    await client.request(stack.url('grafana.test', '/d/1'), {
      headers: { 'X-WEBAUTH-USER': 'admin', X_WEBAUTH_EMAIL: 'admin@corp.example' },
    });
    const seen = stack.upstream.last().headers;
    expect(seen['x-webauth-user']).toBe('alice');
    expect(seen['x-webauth-email']).toBe('alice@corp.example');
    expect(seen['x-forwarded-groups']).toBe('engineering');
    expect(seen['x_webauth_email']).toBeUndefined();
    // Another route does not send X-WEBAUTH-USER, and must not pass a client's copy either.
    const app = await signedIn('app.test');
    await app.request(stack.url('app.test', '/x'), { headers: { 'X-WEBAUTH-USER': 'admin' } });
    expect(stack.upstream.last().headers['x-webauth-user']).toBeUndefined();
  });
});

describe('service tokens (bearer)', () => {
  const call = (token: string | undefined, host = 'api.test', path = '/charge') =>
    new TestClient().request(stack.url(host, path), {
      method: 'POST',
      headers: {
        accept: 'application/json',
        ...(token !== undefined && { authorization: `Bearer ${token}` }),
      },
      body: '{}',
    });

  test('a valid workload token is accepted; the upstream never sees it, and gets the identity', async () => {
    const token = await k8s.mint({ 'kubernetes.io': { namespace: 'prod' } }, { sub: CHECKOUT });
    const reply = await call(token);
    expect(reply.status).toBe(200);
    const seen = stack.upstream.last().headers;
    expect(seen.authorization).toBeUndefined();
    expect(seen['x-forwarded-user']).toBe(CHECKOUT);
    expect(decodeJwt(seen['x-ztna-assertion'] as string)).toMatchObject({
      sub: CHECKOUT,
      aud: 'payments-api',
      auth: 'bearer',
    });
    expect(await stack.auditLine((l) => l.path === '/charge' && l.sub === CHECKOUT)).toMatchObject({
      auth: 'bearer',
      decision: 'allow',
    });
  });

  test('claims conditions read nested claims of workload tokens', async () => {
    const token = await k8s.mint(
      { 'kubernetes.io': { namespace: 'billing' } },
      { sub: 'system:serviceaccount:billing:reconciler' },
    );
    expect((await call(token)).status).toBe(200);
  });

  test('a valid token that the policy does not allow is 403', async () => {
    const token = await k8s.mint(
      { 'kubernetes.io': { namespace: 'dev' } },
      { sub: 'system:serviceaccount:dev:tester' },
    );
    const reply = await call(token);
    expect(reply.status).toBe(403);
    expect(reply.json()).toMatchObject({ reason: 'deny:no_rule_matched' });
  });

  test('no token: 401 with a bare Bearer challenge', async () => {
    const reply = await call(undefined);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="ztna-gateway"');
    expect(reply.json()).toMatchObject({ error: 'ZTNA_ERR_BEARER_REQUIRED' });
  });

  test('the JWT attack set: each 401 invalid_token with its reason, nothing forwarded', async () => {
    const before = stack.upstream.seen.length;
    const attacks = await k8s.attacks({}, { sub: CHECKOUT });
    const outcomes: unknown[] = [];
    for (const [name, token] of attacks) {
      const reply = await call(token);
      outcomes.push({
        name,
        status: reply.status,
        challenge: reply.headers['www-authenticate'],
        body: reply.json(),
      });
    }
    expect(outcomes).toEqual(
      attacks.map(([name, , reason]) => ({
        name,
        status: 401,
        challenge: `Bearer realm="ztna-gateway", error="invalid_token", error_description="${reason}"`,
        body: expect.objectContaining({ error: 'ZTNA_ERR_BEARER_INVALID', reason }),
      })),
    );
    expect(stack.upstream.seen.length).toBe(before);
  });

  test('the JWT attack set against WebSocket upgrades: every one refused', async () => {
    const before = stack.upstream.seen.length;
    for (const [name, token] of await k8s.attacks({}, { sub: CHECKOUT })) {
      const outcome = await wsRoundTrip(stack.port, 'api.test', '/ws', undefined, 'ping', {
        authorization: `Bearer ${token}`,
      });
      expect({ name, outcome }).toEqual({ name, outcome: { status: 401 } });
    }
    expect(stack.upstream.seen.length).toBe(before);
  });

  test('a session route passes the client’s own Authorization through untouched', async () => {
    const client = await signedIn('app.test');
    await client.request(stack.url('app.test', '/own-auth'), {
      headers: { authorization: 'Basic YXBwOnNlY3JldA==' },
    });
    expect(stack.upstream.last().headers.authorization).toBe('Basic YXBwOnNlY3JldA==');
  });

  test('a route taking both: a browser session or a service token', async () => {
    const browser = await signedIn('mixed.test');
    expect((await browser.request(stack.url('mixed.test', '/'))).status).toBe(200);
    const token = await k8s.mint({}, { sub: CHECKOUT });
    expect((await call(token, 'mixed.test', '/svc')).status).toBe(200);
    expect(stack.upstream.last().headers.authorization).toBeUndefined();
  });

  test('WebSocket upgrades accept service tokens too', async () => {
    const token = await k8s.mint({}, { sub: CHECKOUT });
    expect(
      await wsRoundTrip(stack.port, 'api.test', '/ws', undefined, 'ping', {
        authorization: `Bearer ${token}`,
      }),
    ).toEqual({ reply: `${CHECKOUT}:ping` });
    expect(await wsRoundTrip(stack.port, 'api.test', '/ws', undefined, 'ping')).toEqual({
      status: 401,
    });
  });

  test('credential ages are measured per kind', async () => {
    const metrics = await stack.metrics();
    for (const kind of ['session', 'bearer']) {
      expect(sampleValue(metrics, 'ztna_credential_age_seconds_count', { kind })).toBeGreaterThan(
        0,
      );
    }
  });
});
