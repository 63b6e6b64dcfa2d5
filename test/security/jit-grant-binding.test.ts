import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { IdpUser } from '../../src/demo/idp.js';
import { TestClient } from '../harness/http-client.js';
import { ALICE_OTP, ERIN_OTP, JIT_ROUTES, JIT_USERS, jitSteps } from '../harness/jit.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

// Attack review of issue 14, finding 3: a grant born of a request reached every account the
// IdP gives the requester's email (a duplicate account, a reassigned mailbox), not only the
// account the approver approved. erin and erin-alt are two accounts with one verified email.
let stack: Stack;
const { browserOf, ask, accessJson, decide, csrfOf } = jitSteps(() => stack);

// ivan's IdP does not vouch for his email: his grant is held by his sub alone.
const USERS: readonly IdpUser[] = [
  ...JIT_USERS,
  {
    sub: 'ivan-sub',
    username: 'ivan',
    password: 'pw-ivan',
    email: 'ivan@corp.example',
    emailVerified: false,
    name: 'Ivan',
    groups: ['sales'],
  },
];

beforeAll(async () => {
  stack = await startStack({ routes: JIT_ROUTES, users: USERS });
});
afterAll(() => stack.close());

describe('whom a grant born of a request lets in', () => {
  test('the account the approver approved, not every account that shares its email', async () => {
    const alt = await browserOf('erin-alt', 'admin.test', '/');
    expect((await ask(alt.client, { reason: 'alt account asks' })).status).toBe(303);
    const alice = (await browserOf('alice', 'admin.test', '/.ztna/access', ALICE_OTP)).client;
    const request = (await accessJson(alice)).to_decide.find(
      (r) => r.reason === 'alt account asks',
    );
    expect(request).toMatchObject({ user: 'erin@corp.example', user_name: 'Erin-alt' });
    expect((await decide(alice, await csrfOf(alice), request!.id, 'approve')).status).toBe(303);
    expect((await alt.client.navigate(stack.url('admin.test', '/'))).status).toBe(200);
    // erin's own account (sub erin) never asked and was never approved.
    const erin = new TestClient();
    const landed = await stack.login(erin, 'erin', stack.url('admin.test', '/'), { otp: ERIN_OTP });
    expect(landed.status).toBe(403);
    // The admin still finds (and can revoke) the grant by the email it was asked under.
    const listed = (
      await new TestClient().request(stack.adminUrl('/admin/grants?user=erin@corp.example'))
    ).json<{ grants: unknown[] }>();
    expect(listed.grants).toHaveLength(1);
  });

  test('an admin who names the person by email finds and revokes a grant held by a sub whose email is unverified', async () => {
    const ivan = (await browserOf('ivan', 'admin.test', '/')).client;
    expect((await ask(ivan, { reason: 'ivan needs it' })).status).toBe(303);
    const alice = (await browserOf('alice', 'admin.test', '/.ztna/access', ALICE_OTP)).client;
    const request = (await accessJson(alice)).to_decide.find((r) => r.reason === 'ivan needs it');
    expect((await decide(alice, await csrfOf(alice), request!.id, 'approve')).status).toBe(303);
    expect((await ivan.navigate(stack.url('admin.test', '/'))).status).toBe(200);
    const admin = new TestClient();
    const listed = await admin.request(stack.adminUrl('/admin/grants?user=ivan%40corp.example'));
    expect(listed.json<{ grants: unknown[] }>().grants).toHaveLength(1);
    const revoked = await admin.request(stack.adminUrl('/admin/grants?user=ivan%40corp.example'), {
      method: 'DELETE',
    });
    expect(revoked.status).toBe(200);
    expect((await ivan.navigate(stack.url('admin.test', '/'))).status).toBe(403);
  });
});
