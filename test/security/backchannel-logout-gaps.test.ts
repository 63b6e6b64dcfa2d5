import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createClient } from 'redis';
import { eventually } from '../harness/eventually.js';
import { startRedis } from '../harness/redis.js';
import type { TestRedis } from '../harness/redis.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { signOutAtIdp, signedIn, signedInAppRoutes } from '../harness/sessions.js';

// Review of OIDC Back-Channel Logout (SPEC §9, §12). The real oidc-provider IdP signs the
// logout tokens and posts them to the gateway itself when a person signs out at the IdP.

const routes = signedInAppRoutes;

/** The audit line of the next back-channel logout the gateway completes after `before` lines. */
function nextBackchannelLine(stack: Stack, before: number) {
  return eventually(() =>
    stack
      .audit()
      .slice(before)
      .find((l) => l.path === '/.ztna/backchannel-logout' && l.reason === 'backchannel:revoked'),
  );
}

describe('back-channel logout: what it must not leave behind', () => {
  let redis: TestRedis;
  let stack: Stack;
  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({
      sessionExtra: '  store: redis\n  redis_url_env: TEST_REDIS_URL',
      env: { TEST_REDIS_URL: redis.url },
      routes,
    });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
    await redis.stop();
  });

  test('a session with no recorded IdP sid still ends when the IdP signs its user out', async () => {
    const client = await signedIn(stack, 'alice');
    // The session as the release before this change stored it (and as an IdP whose ID tokens
    // carry no `sid` leaves it): no idpSid, no idpsid index. Sessions live through a rollout.
    const redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    const keys = await redisClient.keys('ztna:sess:*');
    expect(keys).toHaveLength(1);
    const data = JSON.parse((await redisClient.get(keys[0]!))!) as Record<string, unknown>;
    expect(data.idpSid).toEqual(expect.any(String));
    delete data.idpSid;
    await redisClient.set(keys[0]!, JSON.stringify(data), { KEEPTTL: true });
    const index = await redisClient.keys('ztna:idx:idpsid:*');
    if (index.length > 0) await redisClient.del(index);
    await redisClient.quit();
    expect((await client.request(stack.url('app.test', '/before'))).status).toBe(200);

    // The IdP's logout token names the IdP session and alice's sub (sid + sub).
    const before = stack.audit().length;
    await signOutAtIdp(stack, client);
    const line = await nextBackchannelLine(stack, before);
    expect(line.status).toBe(200);
    // Before: the IdP got its 200, yet alice's gateway session went on working (200).
    expect((await client.request(stack.url('app.test', '/after'))).status).toBe(401);
  });

  test('an IdP sign-out is audited and counted as what it is, not as an error', async () => {
    const client = await signedIn(stack, 'bob');
    const errorsBefore = sampleValue(await stack.metrics(), 'ztna_requests_total', {
      decision: 'error',
    });
    const before = stack.audit().length;
    await signOutAtIdp(stack, client);
    const line = await nextBackchannelLine(stack, before);
    expect((await client.request(stack.url('app.test', '/after'))).status).toBe(401);
    // Before: decision "error" on the audit line, and ztna_requests_total{decision="error"} + 1
    // for every successful back-channel logout (what error-rate alerts watch).
    expect(line.decision).not.toBe('error');
    expect(
      sampleValue(await stack.metrics(), 'ztna_requests_total', { decision: 'error' }) -
        errorsBefore,
    ).toBe(0);
  });
});
