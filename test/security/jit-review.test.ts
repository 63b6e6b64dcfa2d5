import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { IdpUser } from '../../src/demo/idp.js';
import { TestClient } from '../harness/http-client.js';
import type { Reply } from '../harness/http-client.js';
import {
  ALICE_OTP,
  CLICKED,
  ERIN_OTP,
  JIT_ROUTES,
  JIT_USERS,
  JSON_ACCEPT,
  hiddenField,
  jitSteps,
} from '../harness/jit.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * An attacker's review of issue 14 (just-in-time access), from the positions of
 * test/security/README.md: a script in an upstream app deciding as the approver who uses it
 * (position 4), and an approver approving their own request from a second IdP account
 * (position 2). Each test is an attack that worked against the first version.
 */

// erin-shadow: a second IdP account of erin's (another sub) whose email the IdP says is NOT
// verified. The request's grantee drops unverified emails, so only the requester's raw email
// ties the request to erin.
const USERS: readonly IdpUser[] = [
  ...JIT_USERS,
  {
    sub: 'erin-shadow',
    username: 'erin-shadow',
    password: 'pw-erin-shadow',
    email: 'Erin@corp.example',
    emailVerified: false,
    name: 'Erin',
    groups: ['sales'],
  },
];

// tools.test: an ordinary internal app alice uses every day, whose upstream is the attacker's
// (control of one upstream app, or an XSS in it). /.ztna/access is served on its host too: the
// app's scripts are same-origin with it and can read its pages.
const ROUTES = (upstream: string) =>
  JIT_ROUTES(upstream) +
  `  - name: tools
    host: tools.test
    upstream: ${upstream}
    policy:
      allow:
        - { authenticated: true }
`;

const MINUTE = 60_000;
let stack: Stack;
let offsetMs = 0;
const { browserOf, ask, accessJson, decide, csrfOf, post } = jitSteps(() => stack);

beforeAll(async () => {
  stack = await startStack({ routes: ROUTES, users: USERS, now: () => Date.now() + offsetMs });
});
afterAll(() => stack.close());

/** Where requests for admin-access are decided: the admin app's own host. */
const APP = 'admin.test';

/** What a browser sends for requests a page's script makes, by the way it makes them. */
const SCRIPTED: Record<string, Record<string, string>> = {
  'fetch() / XMLHttpRequest': {
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'cors',
    'sec-fetch-dest': 'empty',
  },
  "fetch() with mode 'same-origin'": {
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'same-origin',
    'sec-fetch-dest': 'empty',
  },
  'form.submit() without a user gesture': {
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'document',
  },
  'a form posted into a frame': {
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'iframe',
    'sec-fetch-user': '?1',
  },
  'a form on another site': { ...CLICKED, 'sec-fetch-site': 'cross-site' },
  'no Fetch Metadata (a tool, or plain HTTP)': {},
};

function postAs(
  client: TestClient,
  path: string,
  headers: Record<string, string>,
  fields: Record<string, string>,
  host = 'tools.test',
): Promise<Reply> {
  return client.request(stack.url(host, path), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      origin: new URL(stack.url(host, '/')).origin,
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
  });
}

describe('an approver without a second factor', () => {
  test('who has nothing to decide sees /.ztna/access without being sent to step up', async () => {
    // Nothing is pending yet: alice (an approver) signed in without MFA just sees her page.
    const { client } = await browserOf('alice', 'tools.test', '/');
    const page = await client.navigate(stack.url('tools.test', '/.ztna/access'));
    expect(page.status).toBe(200);
    expect(page.text).toContain('You hold no temporary access');
    expect(page.text).not.toContain('second factor');
  });
});

describe('approvals driven from an upstream app origin (position 4)', () => {
  let bob: TestClient;
  let alice: TestClient;
  let requestId: string;

  beforeAll(async () => {
    // bob (who runs the tools app upstream) asks for admin access.
    bob = (await browserOf('bob', 'admin.test', '/')).client;
    expect((await ask(bob, { reason: 'please' })).status).toBe(303);
    // alice, an approver signed in with MFA, uses the tools app.
    alice = new TestClient();
    const landed = await stack.login(alice, 'alice', stack.url('tools.test', '/'), {
      otp: ALICE_OTP,
    });
    expect(landed.status).toBe(200);
    // The tools app sends her through a step-up of its own making (any app can link to
    // /.ztna/login?step_up=1&mfa=1&max_age=600): her second factor is fresh on tools.test.
    const steppedUp = await stack.login(alice, 'alice', stack.url('tools.test', '/.ztna/access'), {
      otp: ALICE_OTP,
    });
    expect(steppedUp.status).toBe(200);
    const elsewhere = (await accessJson(alice, 'tools.test')) as unknown as {
      to_decide: unknown[];
      to_decide_elsewhere: { id: string; decide_at: string }[];
    };
    expect(elsewhere.to_decide).toEqual([]);
    requestId = elsewhere.to_decide_elsewhere[0]!.id;
    expect(elsewhere.to_decide_elsewhere[0]!.decide_at).toBe(stack.url(APP, '/.ztna/access'));
    // Deciding happens on the admin app's host, where she signs in (with MFA) too.
    const there = await stack.login(alice, 'alice', stack.url(APP, '/.ztna/access'), {
      otp: ALICE_OTP,
    });
    expect(there.status).toBe(200);
    expect((await accessJson(alice, APP)).to_decide.map((r) => r.id)).toEqual([requestId]);
  });

  /** alice's browser, posting the decision form she clicked on `host`. */
  function clickApprove(csrf: string, host = APP): Promise<Reply> {
    return post(alice, '/.ztna/access/decide', { csrf, id: requestId, decision: 'approve' }, host);
  }

  async function stillPending(): Promise<void> {
    expect((await accessJson(alice, APP)).to_decide.map((r) => r.id)).toEqual([requestId]);
    expect((await bob.navigate(stack.url('admin.test', '/'))).status).toBe(403);
    expect(stack.audit().filter((l) => l.jit === 'approved')).toEqual([]);
  }

  test("another app's origin decides nothing: not with a clicked form, not with the fresh second factor it had her sign in for", async () => {
    // A script of the tools app can send what a clicked Approve sends (any navigation it starts
    // right after one of her clicks carries Sec-Fetch-User), with the token it reads on its
    // own origin. The page there offers no form for the request, and a decision is refused.
    const page = await alice.navigate(stack.url('tools.test', '/.ztna/access'));
    expect(page.status).toBe(200);
    expect(hiddenField(page.text, 'id')).toBeUndefined();
    expect(page.text).toContain(`decide on ${new URL(stack.url(APP, '/')).host}`);
    const reply = await postAs(alice, '/.ztna/access/decide', CLICKED, {
      csrf: hiddenField(page.text, 'csrf') ?? (await csrfOf(alice, 'tools.test')),
      id: requestId,
      decision: 'approve',
    });
    expect(reply.status).toBe(403);
    expect(reply.json()).toMatchObject({ error: 'ZTNA_ERR_ACCESS_DECIDE_ELSEWHERE' });
    await stack.auditLine((l) => l.reason === 'access_decide:elsewhere' && l.sub === 'alice');
    await stillPending();
  });

  test.each(Object.entries(SCRIPTED))(
    "on the admin app's own origin too, a script that reads the token and the request id, and POSTs to decide (%s), is refused",
    async (_how, headers) => {
      // Defence in depth where the decision is made: the app's own scripts are same-origin.
      const page = await alice.request(stack.url(APP, '/.ztna/access'), {
        headers: { accept: 'text/html', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
      });
      const csrf = hiddenField(page.text, 'csrf')!;
      expect(hiddenField(page.text, 'id')).toBe(requestId);

      const reply = await postAs(
        alice,
        '/.ztna/access/decide',
        headers,
        { csrf, id: requestId, decision: 'approve' },
        APP,
      );
      expect(reply.status).toBe(403);
      expect(reply.json()).toMatchObject({ error: 'ZTNA_ERR_ACCESS_FORM_NOT_CLICKED' });
      await stack.auditLine((l) => l.reason === 'access_decide:not_clicked' && l.sub === 'alice');
      await stillPending();
    },
  );

  test('the approval page cannot be framed by the app (frame-ancestors none)', async () => {
    const page = await alice.navigate(stack.url('tools.test', '/.ztna/access'));
    expect(page.status).toBe(200);
    expect(String(page.headers['content-security-policy'])).toMatch(/frame-ancestors 'none'/);
  });

  test('a script cannot file a request in the name of the person using the app', async () => {
    const carol = (await browserOf('carol', 'tools.test', '/')).client;
    const csrf = await csrfOf(carol, 'tools.test');
    for (const headers of Object.values(SCRIPTED)) {
      const reply = await postAs(carol, '/.ztna/access/request', headers, {
        csrf,
        grant: 'admin-access',
        duration: '2h',
        reason: 'filed by a script',
      });
      expect(reply.status).toBe(403);
      expect(reply.json()).toMatchObject({ error: 'ZTNA_ERR_ACCESS_FORM_NOT_CLICKED' });
    }
    expect((await accessJson(carol, 'tools.test')).requests).toEqual([]);
    expect(stack.audit().filter((l) => l.jit === 'requested' && l.for_sub === 'carol')).toEqual([]);
    await stack.auditLine((l) => l.reason === 'access_request:not_clicked' && l.sub === 'carol');
  });

  test('a sign-in with a second factor more than 10 minutes old decides nothing: the page steps up, a clicked form is refused', async () => {
    offsetMs = 11 * MINUTE;
    try {
      const page = await alice.navigate(stack.url(APP, '/.ztna/access'));
      expect(page.status).toBe(302);
      const login = new URL(page.location!);
      expect(login.pathname).toBe('/.ztna/login');
      expect(Object.fromEntries(login.searchParams)).toMatchObject({
        step_up: '1',
        mfa: '1',
        max_age: '600',
        rd: '/.ztna/access',
      });
      const csrf = await csrfOf(alice, APP);
      const reply = await clickApprove(csrf);
      expect(reply.status).toBe(403);
      expect(reply.text).toContain('Second factor required');
      await stack.auditLine((l) => l.reason === 'access_decide:mfa' && l.sub === 'alice');
      // Nine minutes after it, the same sign-in was fresh enough; the request is still pending.
      offsetMs = 9 * MINUTE;
      expect((await alice.navigate(stack.url(APP, '/.ztna/access'))).status).toBe(200);
      await stillPending();
    } finally {
      offsetMs = 0;
    }
  });

  test("the approver herself, clicking Approve on the admin app's page with a fresh second factor, is accepted", async () => {
    const page = await alice.navigate(stack.url(APP, '/.ztna/access'));
    expect(page.status).toBe(200);
    const reply = await clickApprove(hiddenField(page.text, 'csrf')!);
    expect(reply.status).toBe(303);
    expect((await bob.navigate(stack.url('admin.test', '/'))).status).toBe(200);
  });
});

describe('self-approval (position 2)', () => {
  test('erin cannot approve a request from her second account whose email the IdP has not verified; she is not even offered it', async () => {
    const shadow = await browserOf('erin-shadow', 'admin.test', '/');
    expect(shadow.landed.status).toBe(403);
    expect((await ask(shadow.client, { reason: 'mine' })).status).toBe(303);

    const erin = (await browserOf('erin', 'admin.test', '/.ztna/access', ERIN_OTP)).client;
    const page = await erin.navigate(stack.url('admin.test', '/.ztna/access'));
    expect(page.text).not.toContain('“mine”');
    expect((await accessJson(erin)).to_decide).toEqual([]);

    // Another approver sees it (under the shadow account's sub: its email is not verified).
    const alice = (await browserOf('alice', 'admin.test', '/.ztna/access', ALICE_OTP)).client;
    const mine = (await accessJson(alice)).to_decide.find((r) => r.reason === 'mine');
    expect(mine).toMatchObject({ user: 'erin-shadow' });

    const self = await decide(erin, await csrfOf(erin), mine!.id, 'approve');
    expect(self.status).toBe(403);
    expect(self.text).toContain('Not your decision');
    expect((await shadow.client.navigate(stack.url('admin.test', '/'))).status).toBe(403);
    const json = await shadow.client.request(stack.url('admin.test', '/.ztna/access'), {
      headers: JSON_ACCEPT,
    });
    expect(json.json<{ requests: unknown[] }>().requests).toHaveLength(1);
  });
});
