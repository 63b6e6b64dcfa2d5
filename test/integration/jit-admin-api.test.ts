import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload } from 'jose';
import { TestClient } from '../harness/http-client.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { signedIn } from '../harness/sessions.js';

// /admin/grants (SPEC §9, §13): admins list, issue and revoke just-in-time grants; a request a
// grant lets in carries the grant in its identity assertion (SPEC §8).

const TOKEN = 'jit-admin-test-token-0123456789';

/** ops.test: /admin needs the ops-admin grant (or engineering); everything else any signed-in person. */
const routes = (upstream: string) => `version: 1
routes:
  - name: ops
    host: ops.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
    rules:
      - path: /admin
        policy:
          allow:
            - groups: [engineering]
            - grant: ops-admin
        jit: { grant: ops-admin, max_duration: 4h, approvers: { groups: [engineering] } }
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    routes,
    gatewayExtra: 'admin_token_env: TEST_ADMIN_TOKEN\nassertion:\n  ttl: 10m',
    env: { TEST_ADMIN_TOKEN: TOKEN },
  });
});
afterAll(() => stack.close());

const admin = new TestClient();
function api(method: string, query = '', body?: unknown, headers: Record<string, string> = {}) {
  return admin.request(stack.adminUrl(`/admin/grants${query}`), {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

interface GrantView {
  id: string;
  grant: string;
  sub: string | null;
  email: string | null;
  granted_at: string;
  expires_at: string;
  granted_by: string;
  reason: string;
}

async function issue(user: string, duration = '2h', reason = 'incident 4711'): Promise<GrantView> {
  const reply = await api('POST', '', { user, grant: 'ops-admin', duration, reason });
  expect(reply.status).toBe(201);
  return reply.json<{ grant: GrantView }>().grant;
}

/** The assertion the upstream received last, verified as an upstream would. */
async function lastAssertion(): Promise<JWTPayload> {
  const token = stack.upstream.last().headers['x-ztna-assertion'] as string;
  const jwks = (
    await new TestClient().request(stack.url('ops.test', '/.ztna/jwks.json'))
  ).json<JSONWebKeySet>();
  return (await jwtVerify(token, createLocalJWKSet(jwks), { audience: 'ops' })).payload;
}

async function jitEvents(event: string): Promise<number> {
  const metrics = await admin.request(stack.adminUrl('/metrics'), {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return sampleValue(metrics.text, 'ztna_jit_events_total', { event });
}

describe('/admin/grants', () => {
  test('needs the admin token, like /admin/sessions', async () => {
    const anonymous = await new TestClient().request(stack.adminUrl('/admin/grants'));
    expect(anonymous.status).toBe(401);
    const forged = await new TestClient().request(stack.adminUrl('/admin/grants'), {
      method: 'POST',
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'bob', grant: 'ops-admin', duration: '1h', reason: 'x' }),
    });
    expect(forged.status).toBe(401);
    expect((await api('GET')).json()).toEqual({ grants: [], pending: [] });
  });

  test('an issued grant lets the person in on their next request, and is listed', async () => {
    const bob = await signedIn(stack, 'bob', 'ops.test');
    expect((await bob.request(stack.url('ops.test', '/admin/settings'))).status).toBe(403);
    const approvedBefore = await jitEvents('approved');

    const now = Date.now();
    const grant = await issue('Bob@Corp.Example', '2h', 'on call for incident 4711');
    expect(grant).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      grant: 'ops-admin',
      sub: null,
      email: 'bob@corp.example',
      granted_at: expect.any(String),
      expires_at: expect.any(String),
      granted_by: 'admin',
      reason: 'on call for incident 4711',
    });
    expect(Date.parse(grant.expires_at) - now).toBeGreaterThanOrEqual(2 * 3_600_000 - 2000);
    expect(Date.parse(grant.expires_at) - now).toBeLessThanOrEqual(2 * 3_600_000 + 2000);

    // No new sign-in: the same browser gets in.
    expect((await bob.request(stack.url('ops.test', '/admin/settings'))).status).toBe(200);
    const line = await stack.auditLine((l) => l.jit === 'approved' && l.grant_id === grant.id);
    expect(line).toMatchObject({
      grant: 'ops-admin',
      for: 'bob@corp.example',
      by: 'admin',
      reason: 'on call for incident 4711',
    });
    expect((await jitEvents('approved')) - approvedBefore).toBe(1);

    const listed = (await api('GET', '?user=bob@corp.example')).json<{ grants: GrantView[] }>();
    expect(listed.grants).toEqual([grant]);
    expect((await api('GET', '?user=alice')).json()).toEqual({ grants: [], pending: [] });
    // Exactly these fields: nothing of a session (id, cookie, token) is part of any answer.
    expect(Object.keys(listed)).toEqual(['grants', 'pending']);

    await api('DELETE', `?id=${grant.id}`);
  });

  test('bad input is a clear 400 and issues nothing', async () => {
    const cases: [unknown, RegExp][] = [
      ['{"user": ', /not valid JSON/],
      [[1, 2], /send a JSON object/],
      [{ grant: 'ops-admin', duration: '1h', reason: 'x' }, /user is required/],
      [{ user: 'bob', grant: 'root', duration: '1h', reason: 'x' }, /"root".*declared: ops-admin/],
      [{ user: 'bob', grant: 'ops-admin', duration: '90', reason: 'x' }, /like 30m or 2h/],
      [{ user: 'bob', grant: 'ops-admin', duration: '5h', reason: 'x' }, /between 1m and 4h/],
      [{ user: 'bob', grant: 'ops-admin', duration: '30s', reason: 'x' }, /between 1m and 4h/],
      [{ user: 'bob', grant: 'ops-admin', duration: '1h' }, /reason is required/],
      [{ user: 'bob', grant: 'ops-admin', duration: '1h', reason: '   ' }, /reason is required/],
      [{ user: 'bob', grant: 'ops-admin', duration: '1h', reason: 'x'.repeat(501) }, /at most 500/],
      [{ user: 'bob\nmallory', grant: 'ops-admin', duration: '1h', reason: 'x' }, /control/],
      [{ user: 'bob', grant: 'ops-admin', duration: 3600, reason: 'x' }, /duration is required/],
    ];
    for (const [body, message] of cases) {
      const reply = await api('POST', '', body);
      expect([reply.status, reply.json<{ error: string }>().error]).toEqual([
        400,
        expect.stringMatching(message),
      ]);
    }
    const notJson = await api('POST', '', 'user=bob', { 'content-type': 'text/plain' });
    expect(notJson.status).toBe(400);
    expect(notJson.json<{ error: string }>().error).toContain('content-type: application/json');

    for (const query of ['', '?id=x&user=bob', '?grant=ops-admin', '?user=&grant=ops-admin'])
      expect((await api('DELETE', query)).status).toBe(400);
    expect((await api('GET', '?user=')).status).toBe(400);
    expect((await api('GET')).json()).toEqual({ grants: [], pending: [] });
  });

  test('revoking by user and grant, or by id: the next request is denied; nothing matched is a 404', async () => {
    const bob = await signedIn(stack, 'bob', 'ops.test');
    await issue('bob@corp.example');
    await issue('bob@corp.example', '1h', 'second look');
    expect((await bob.request(stack.url('ops.test', '/admin'))).status).toBe(200);
    const revokedBefore = await jitEvents('revoked');

    const reply = await api('DELETE', '?user=bob@corp.example&grant=ops-admin');
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ revoked: 2, websockets_closed: 0 });
    expect((await bob.request(stack.url('ops.test', '/admin'))).status).toBe(403);
    expect((await jitEvents('revoked')) - revokedBefore).toBe(2);
    const lines = stack.audit().filter((l) => l.jit === 'revoked');
    expect(lines.slice(-2)).toEqual([
      expect.objectContaining({ by: 'admin', for: 'bob@corp.example', grant: 'ops-admin' }),
      expect.objectContaining({ by: 'admin', for: 'bob@corp.example', grant: 'ops-admin' }),
    ]);

    const again = await api('DELETE', '?user=bob@corp.example&grant=ops-admin');
    expect([again.status, again.json()]).toEqual([404, { error: 'no running grant matched' }]);

    const byId = await issue('bob');
    expect(byId.sub).toBe('bob');
    expect((await bob.request(stack.url('ops.test', '/admin'))).status).toBe(200);
    expect((await api('DELETE', `?id=${byId.id}`)).json()).toMatchObject({ revoked: 1 });
    expect((await bob.request(stack.url('ops.test', '/admin'))).status).toBe(403);
    expect((await api('DELETE', `?id=${byId.id}`)).status).toBe(404);
  });
});

describe('the identity assertion of a request a grant let in', () => {
  test('carries grant { name, exp } and never outlives the grant', async () => {
    const bob = await signedIn(stack, 'bob', 'ops.test');
    // First an assertion for the same person and route without the grant: it must not be reused.
    expect((await bob.request(stack.url('ops.test', '/home'))).status).toBe(200);
    const standing = await lastAssertion();
    expect(standing.grant).toBeUndefined();

    const grant = await issue('bob@corp.example', '2m');
    expect((await bob.request(stack.url('ops.test', '/admin'))).status).toBe(200);
    const claims = await lastAssertion();
    const grantExp = Math.floor(Date.parse(grant.expires_at) / 1000);
    expect(claims).toMatchObject({ sub: 'bob', grant: { name: 'ops-admin', exp: grantExp } });
    // assertion.ttl is 10m; the grant ends in 2m, and so does the assertion.
    expect(claims.exp).toBe(grantExp);
    expect(claims.jti).not.toBe(standing.jti);

    // The grant's assertion is not reused where the grant did not decide.
    expect((await bob.request(stack.url('ops.test', '/home'))).status).toBe(200);
    expect(decodeJwt(stack.upstream.last().headers['x-ztna-assertion'] as string).grant).toBe(
      undefined,
    );
    await api('DELETE', `?id=${grant.id}`);
  });

  test('a person the policy allows without a grant gets no grant claim', async () => {
    const alice = await signedIn(stack, 'alice', 'ops.test');
    await issue('alice@corp.example', '1h');
    // alice is in engineering: the first rule allows her, not the grant.
    expect((await alice.request(stack.url('ops.test', '/admin'))).status).toBe(200);
    const claims = await lastAssertion();
    expect(claims.sub).toBe('alice');
    expect(claims.grant).toBeUndefined();
    expect(claims.exp! - claims.iat!).toBe(600);
    await api('DELETE', '?user=alice@corp.example');
  });
});
