import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { IdpUser } from '../../src/demo/idp.js';
import { TestClient } from '../harness/http-client.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { TEST_USERS } from '../harness/users.js';

/**
 * Issue 12 item 4: after a token refresh the identity is what the IdP says now. A group the IdP
 * withdrew must stop opening group-only paths at the next refresh, whether groups come in the
 * ID token or only from UserInfo. And (SPEC §8) a group name with a comma is refused, at
 * sign-in and at refresh, so X-Forwarded-Groups stays unambiguous.
 */

const USERS: readonly IdpUser[] = [
  ...TEST_USERS,
  {
    sub: 'dana',
    username: 'dana',
    password: 'pw-dana',
    email: 'dana@corp.example',
    name: 'Dana',
    groups: ['engineering'],
  },
  {
    sub: 'erin',
    username: 'erin',
    password: 'pw-erin',
    email: 'erin@corp.example',
    name: 'Erin',
    groups: ['engineering'],
  },
  {
    sub: 'eve',
    username: 'eve',
    password: 'pw-eve',
    email: 'eve@corp.example',
    name: 'Eve',
    groups: ['eng,admins'],
  },
];

const ACCESS_TOKEN_TTL_S = 60;

const routes = (upstream: string) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
    rules:
      - path: /team
        policy: { allow: [ { groups: [engineering] } ] }
`;

/** A clock the test moves: the gateway sees the IdP's access tokens expire without waiting. */
function movableClock() {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    passAccessTokenExpiry: () => void (offsetMs += (ACCESS_TOKEN_TTL_S + 30) * 1000),
  };
}

async function authEvents(stack: Stack, event: string): Promise<number> {
  return sampleValue(await stack.metrics(), 'ztna_auth_events_total', { event });
}

async function groupsChangedAtIdp(
  stack: Stack,
  clock: ReturnType<typeof movableClock>,
  user: string,
  groupsNow: readonly string[] | undefined,
): Promise<void> {
  const client = new TestClient();
  expect((await stack.login(client, user, stack.url('app.test', '/'))).status).toBe(200);
  expect((await client.request(stack.url('app.test', `/team/${user}-before`))).status).toBe(200);
  expect(stack.upstream.last().headers['x-forwarded-groups']).toBe('engineering');

  stack.idp.setGroups(user, groupsNow);
  clock.passAccessTokenExpiry();
  const refreshes = await authEvents(stack, 'refresh_ok');
  const denied = await client.request(stack.url('app.test', `/team/${user}-after`), {
    headers: { accept: 'application/json' },
  });
  expect(denied.status).toBe(403);
  expect((await authEvents(stack, 'refresh_ok')) - refreshes).toBe(1);
  expect(
    await stack.auditLine((l) => l.path === `/team/${user}-after` && l.decision === 'deny'),
  ).toMatchObject({ reason: 'deny:no_rule_matched' });

  // The same session still opens the rest of the app, and the upstream sees the new groups.
  expect((await client.request(stack.url('app.test', `/${user}-home`))).status).toBe(200);
  expect(stack.upstream.last().headers['x-forwarded-groups']).toBe(groupsNow?.join(','));
  const assertion = stack.upstream.last().headers['x-ztna-assertion'] as string;
  const claims = JSON.parse(Buffer.from(assertion.split('.')[1]!, 'base64url').toString());
  expect(claims.groups).toEqual(groupsNow);
}

describe('refresh with groups in the ID token', () => {
  let stack: Stack;
  const clock = movableClock();
  beforeAll(async () => {
    stack = await startStack({
      users: USERS,
      idp: { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S },
      now: clock.now,
      routes,
    });
  });
  afterAll(() => stack.close());

  // The refreshed ID token then has no groups claim at all: nothing of the old one may survive.
  test('a user removed from every group at the IdP loses group-only paths at the refresh', async () => {
    await groupsChangedAtIdp(stack, clock, 'dana', undefined);
  });

  test('a refresh that brings a group name with a comma ends the session', async () => {
    const client = new TestClient();
    expect((await stack.login(client, 'erin', stack.url('app.test', '/'))).status).toBe(200);
    stack.idp.setGroups('erin', ['eng,admins']);
    clock.passAccessTokenExpiry();
    const fails = await authEvents(stack, 'refresh_fail');
    const reply = await client.navigate(stack.url('app.test', '/team/comma'));
    expect(reply.status).toBe(302);
    expect(reply.location).toContain('/.ztna/login');
    expect(stack.upstream.seen.some((r) => r.url === '/team/comma')).toBe(false);
    expect((await authEvents(stack, 'refresh_fail')) - fails).toBe(1);
    expect(await stack.auditLine((l) => l.path === '/team/comma')).toMatchObject({
      decision: 'login',
      reason: 'refresh_rejected',
    });
  });

  test('a sign-in whose groups contain "eng,admins" is refused with a clear error', async () => {
    const client = new TestClient();
    const fails = await authEvents(stack, 'login_fail');
    const reply = await stack.login(client, 'eve', stack.url('app.test', '/'));
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('comma');
    expect(reply.text).toContain('Sign-in refused');
    expect(
      stack.logLines.some((l) => l.error_code === 'ZTNA_ERR_LOGIN_GROUP_NAME' && l.sub === 'eve'),
    ).toBe(true);
    expect((await authEvents(stack, 'login_fail')) - fails).toBe(1);
    expect(
      await stack.auditLine(
        (l) => l.path === '/.ztna/callback' && l.reason === 'login_fail:group_name',
      ),
    ).toMatchObject({ decision: 'login', reason: 'login_fail:group_name' });
    // No session came of it.
    expect(
      (
        await client.request(stack.url('app.test', '/'), {
          headers: { accept: 'application/json' },
        })
      ).status,
    ).toBe(401);
  });
});

describe('refresh with groups only in UserInfo', () => {
  let stack: Stack;
  const clock = movableClock();
  beforeAll(async () => {
    stack = await startStack({
      users: USERS,
      idp: { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S, idTokenClaims: 'minimal' },
      now: clock.now,
      routes,
    });
  });
  afterAll(() => stack.close());

  test('groups changed at the IdP are what the gateway uses after the refresh', async () => {
    await groupsChangedAtIdp(stack, clock, 'dana', ['sales']);
  });

  test('a user removed from every group at the IdP loses group-only paths at the refresh', async () => {
    await groupsChangedAtIdp(stack, clock, 'erin', undefined);
  });
});
