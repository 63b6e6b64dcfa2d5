import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ALICE_OTP, ERIN_OTP, JIT_ROUTES, JIT_USERS, jitSteps } from '../harness/jit.js';
import { startRedis } from '../harness/redis.js';
import type { TestRedis } from '../harness/redis.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * Issue 14 / SPEC §12, §13: approvers on two instances sharing Redis. Each store call is a
 * round trip there, so concurrent decisions interleave for real: only the store's take of the
 * request decides who wins, and the person gets in on either instance.
 */
describe('deciding on two instances sharing Redis', () => {
  let redis: TestRedis;
  let a: Stack;
  let b: Stack;
  const onA = jitSteps(() => a);
  const onB = jitSteps(() => b);
  beforeAll(async () => {
    redis = await startRedis();
    const options = {
      sessionExtra: '  store: redis\n  redis_url_env: TEST_REDIS_URL',
      env: { TEST_REDIS_URL: redis.url },
      routes: JIT_ROUTES,
      users: JIT_USERS,
    };
    a = await startStack(options);
    b = await startStack({ ...options, sharing: a });
  }, 30_000);
  afterAll(async () => {
    await b.close();
    await a.close();
    await redis.stop();
  });

  test('approvals of one request racing on both instances give exactly one grant', async () => {
    const bob = await onA.browserOf('bob');
    expect(bob.landed.status).toBe(403);
    expect((await onA.ask(bob.client, { reason: 'deploy freeze exception' })).status).toBe(303);
    const alice = (await onA.browserOf('alice', 'admin.test', '/.ztna/access', ALICE_OTP)).client;
    // Signed in through the first instance (the IdP knows its callback); the session is shared.
    const erin = (await onA.browserOf('erin', 'admin.test', '/.ztna/access', ERIN_OTP)).client;
    // The request filed on one instance is there to decide on the other.
    const [request] = (await onB.accessJson(erin)).to_decide;
    expect(request).toMatchObject({ user: 'bob@corp.example', reason: 'deploy freeze exception' });
    const [aliceCsrf, erinCsrf] = [await onA.csrfOf(alice), await onB.csrfOf(erin)];
    const replies = await Promise.all(
      [1, 2, 3, 4].flatMap(() => [
        onA.decide(alice, aliceCsrf, request!.id, 'approve'),
        onB.decide(erin, erinCsrf, request!.id, 'approve'),
      ]),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([303, 409, 409, 409, 409, 409, 409, 409]);
    const approved = [...a.audit(), ...b.audit()].filter((l) => l.jit === 'approved');
    expect(approved).toHaveLength(1);
    expect((await onB.accessJson(bob.client)).grants).toHaveLength(1);
    // Approved on one instance, in on the other, without signing in again.
    expect((await bob.client.navigate(b.url('admin.test', '/x'))).status).toBe(200);
  });

  test('concurrent asks (a double click, two tabs, two instances) file one request', async () => {
    const filed: Record<string, number> = {};
    for (const user of ['frank', 'gina', 'hank', 'carol']) {
      const person = await onA.browserOf(user);
      const csrf = await onA.csrfOf(person.client);
      for (const grant of ['admin-access', 'wiki-edit']) {
        const fields = { csrf, grant, duration: '15m', reason: 'x' };
        await Promise.all(
          [1, 2, 3, 4, 5, 6, 7, 8].flatMap(() => [
            onA.ask(person.client, fields),
            onB.ask(person.client, fields),
          ]),
        );
        filed[`${user}/${grant}`] = (await onA.accessJson(person.client)).requests.filter(
          (r) => r.grant === grant,
        ).length;
      }
    }
    expect(Object.values(filed).every((n) => n === 1) ? 'one each' : filed).toBe('one each');
  });
});
