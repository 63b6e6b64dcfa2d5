import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createClient } from 'redis';
import { RedisGrantStore } from '../../src/jit/redis-grants.js';
import { eventually } from '../harness/eventually.js';
import { TestClient } from '../harness/http-client.js';
import { startRedis } from '../harness/redis.js';
import type { TestRedis } from '../harness/redis.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack, StackOptions } from '../harness/stack.js';
import { openWebSocket } from '../harness/sessions.js';

// Just-in-time grants across instances sharing Redis (SPEC §12, §13): a grant issued on one
// instance lets the person in on every other; revocation and expiry end access on all of them
// and close the WebSockets the grant let through within a second; a restart forgets nothing.

const MINUTE = 60_000;
const ENFORCED_WITHIN_MS = 1000;

/** ops.test: engineering may always; anyone else with the ops-admin grant. */
const routes = (upstream: string) => `version: 1
routes:
  - name: ops
    host: ops.test
    upstream: ${upstream}
    policy: { allow: [ { groups: [engineering] }, { grant: ops-admin } ] }
    jit: { grant: ops-admin, max_duration: 4h, approvers: { groups: [engineering] } }
`;

/** Resolves with the close time, or with Infinity when the socket is still open after `ms`. */
function closedWithin(closedAt: Promise<number>, ms: number): Promise<number> {
  return Promise.race([
    closedAt,
    new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), ms)),
  ]);
}

const activeGrants = async (stack: Stack) =>
  sampleValue(await stack.metrics(), 'ztna_jit_grants_active', {});

describe('just-in-time grants on two instances sharing Redis', () => {
  let redis: TestRedis;
  let a: Stack;
  let b: Stack;
  let options: StackOptions;
  /** Both instances' clock: tests move it past a grant's expiry. */
  let offsetMs = 0;
  let bob: TestClient;
  let cookie: string;

  beforeAll(async () => {
    redis = await startRedis();
    options = {
      sessionExtra: '  store: redis\n  redis_url_env: TEST_REDIS_URL',
      env: { TEST_REDIS_URL: redis.url },
      routes,
      now: () => Date.now() + offsetMs,
    };
    a = await startStack(options);
    b = await startStack({ ...options, sharing: a });
    bob = new TestClient();
    // bob signs in through A and is denied: he holds no grant yet.
    expect((await a.login(bob, 'bob', a.url('ops.test', '/'))).status).toBe(403);
    cookie = await bob.jar.getCookieString(a.url('ops.test', '/ws'));
  }, 30_000);
  afterAll(async () => {
    await b.close();
    await a.close();
    await redis.stop();
  });

  async function issueOn(stack: Stack, duration: string) {
    const reply = await new TestClient().request(stack.adminUrl('/admin/grants'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        user: 'bob@corp.example',
        grant: 'ops-admin',
        duration,
        reason: 'on call',
      }),
    });
    expect(reply.status).toBe(201);
    return reply.json<{ grant: { id: string; expires_at: string } }>().grant;
  }

  const status = async (stack: Stack, path: string) =>
    (await bob.request(stack.url('ops.test', path))).status;

  test('a grant issued on A lets the person in through B; both count it', async () => {
    expect(await status(b, '/before')).toBe(403);
    const grant = await issueOn(a, '1h');
    expect(await status(b, '/after')).toBe(200);
    expect(await status(a, '/after')).toBe(200);
    expect(await activeGrants(a)).toBe(1);
    expect(await activeGrants(b)).toBe(1);

    const listedOnB = (await new TestClient().request(b.adminUrl('/admin/grants'))).json<{
      grants: { id: string }[];
    }>();
    expect(listedOnB.grants.map((g) => g.id)).toEqual([grant.id]);
    const revoked = await new TestClient().request(a.adminUrl(`/admin/grants?id=${grant.id}`), {
      method: 'DELETE',
    });
    expect(revoked.json()).toMatchObject({ revoked: 1 });
    expect(await activeGrants(b)).toBe(0);
  });

  test('revoking on A closes the WebSocket the grant let through on B within a second', async () => {
    await issueOn(a, '1h');
    const onB = await openWebSocket(b, cookie, 'ops.test');

    const revokedAt = Date.now();
    const reply = await new TestClient().request(
      a.adminUrl('/admin/grants?user=bob@corp.example&grant=ops-admin'),
      { method: 'DELETE' },
    );
    expect(reply.json()).toEqual({ revoked: 1, websockets_closed: 0 });
    const closedAt = await closedWithin(onB.closedAt, 5000);
    expect(closedAt - revokedAt).toBeLessThan(ENFORCED_WITHIN_MS);
    expect(await status(b, '/after-revoke')).toBe(403);
    expect(await status(a, '/after-revoke')).toBe(403);
  });

  test('at expiry the next request is denied on both; one `expired` line in all; the WebSocket closes', async () => {
    const grant = await issueOn(b, '2m');
    const onB = await openWebSocket(b, cookie, 'ops.test');
    expect(await status(a, '/in-time')).toBe(200);

    offsetMs += 3 * MINUTE;
    expect(await status(a, '/too-late')).toBe(403);
    expect(await status(b, '/too-late')).toBe(403);

    const sweptAt = Date.now();
    const swept = await Promise.all([a.gateway.expireGrants(), b.gateway.expireGrants()]);
    // Each instance also sweeps every 5 s by itself: between all sweeps, one line.
    expect(swept[0] + swept[1]).toBeLessThanOrEqual(1);
    const expiredLines = () =>
      [...a.audit(), ...b.audit()].filter((l) => l.jit === 'expired' && l.grant_id === grant.id);
    await eventually(() => (expiredLines().length > 0 ? true : undefined), 6000);
    expect(expiredLines()).toEqual([
      expect.objectContaining({ grant: 'ops-admin', for: 'bob@corp.example', by: 'gateway' }),
    ]);
    expect((await closedWithin(onB.closedAt, 6000)) - sweptAt).toBeLessThan(
      swept[0] + swept[1] === 1 ? ENFORCED_WITHIN_MS : 6000,
    );
    await Promise.all([a.gateway.expireGrants(), b.gateway.expireGrants()]);
    expect(expiredLines()).toHaveLength(1);
  }, 15_000);

  test('a new instance on the same Redis still sees the grant, and pending requests', async () => {
    const grant = await issueOn(a, '1h');
    // carol asked on some instance (as the deny page does) and waits for an approver.
    const client = createClient({ url: redis.url });
    await client.connect();
    await new RedisGrantStore(client).request({
      id: 'req-carol-1',
      grant: 'ops-admin',
      route: 'ops',
      user: { sub: 'carol', email: 'carol@corp.example' },
      userName: 'Carol',
      durationMs: 30 * MINUTE,
      reason: 'quarterly audit',
      requestedAt: Date.now() + offsetMs,
    });
    await client.quit();

    const c = await startStack({ ...options, sharing: a });
    try {
      expect(await status(c, '/after-restart')).toBe(200);
      const listed = (await new TestClient().request(c.adminUrl('/admin/grants'))).json<{
        grants: { id: string }[];
        pending: { id: string; email: string; duration: string; reason: string }[];
      }>();
      expect(listed.grants.map((g) => g.id)).toEqual([grant.id]);
      expect(listed.pending).toEqual([
        expect.objectContaining({
          id: 'req-carol-1',
          email: 'carol@corp.example',
          duration: '30m',
          reason: 'quarterly audit',
        }),
      ]);
      expect(await activeGrants(c)).toBe(1);

      // An admin's grant answers carol's request: it leaves the approvers' queue everywhere.
      const issued = await new TestClient().request(c.adminUrl('/admin/grants'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'carol', grant: 'ops-admin', duration: '30m', reason: 'ok' }),
      });
      expect(issued.status).toBe(201);
      expect(
        (await new TestClient().request(a.adminUrl('/admin/grants'))).json<{ pending: [] }>()
          .pending,
      ).toEqual([]);
    } finally {
      await c.close();
    }
  }, 30_000);
});
