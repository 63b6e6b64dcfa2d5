import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import {
  ALICE_OTP,
  ERIN_OTP,
  FORM,
  JIT_ROUTES,
  JIT_USERS,
  JSON_ACCEPT,
  hiddenField,
  jitSteps,
} from '../harness/jit.js';
import type { RequestJson } from '../harness/jit.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { AuditLine, Stack } from '../harness/stack.js';

/**
 * Issue 14 / SPEC §13, the person-facing flow on every route host: a denied person asks from the
 * deny page, approvers decide at /.ztna/access (with MFA, never their own), the grant lets the
 * person in on the next request until it expires. Real IdP, real upstream, real gateway.
 */

let stack: Stack;
let offsetMs = 0;
const { browserOf, csrfOf, post, ask, accessJson, decide } = jitSteps(() => stack);

beforeAll(async () => {
  stack = await startStack({
    routes: JIT_ROUTES,
    users: JIT_USERS,
    now: () => Date.now() + offsetMs,
  });
});
afterAll(() => stack.close());

/** alice, signed in with her second factor: the approver. */
let alice: TestClient;
async function pendingFor(user: string): Promise<RequestJson[]> {
  return (await accessJson(alice)).to_decide.filter((r) => r.user === `${user}@corp.example`);
}

function jitLines(event: string, forUser: string): AuditLine[] {
  return stack.audit().filter((l) => l.jit === event && l.for === `${forUser}@corp.example`);
}

async function jitCount(event: string): Promise<number> {
  return sampleValue(await stack.metrics(), 'ztna_jit_events_total', { event });
}

beforeAll(async () => {
  ({ client: alice } = await browserOf('alice', 'admin.test', '/.ztna/access', ALICE_OTP));
});

describe('asking from the deny page', () => {
  test('a denied person is offered "Request access": a labelled POST form with csrf, grant, return path, durations up to the maximum and a required reason', async () => {
    const { client, landed } = await browserOf('bob', 'admin.test', '/reports?week=12');
    expect(landed.status).toBe(403);
    const page = landed.text;
    expect(page).toContain('<form method="post" action="/.ztna/access/request">');
    expect(hiddenField(page, 'csrf')).toBe(await csrfOf(client));
    expect(hiddenField(page, 'grant')).toBe('admin-access');
    expect(hiddenField(page, 'rd')).toBe('/reports?week=12');
    expect(page).toContain('<label for="jit-duration">');
    expect(page).toContain('<select id="jit-duration" name="duration">');
    const options = [...page.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]);
    expect(options).toEqual(['15m', '30m', '1h', '2h']);
    expect(page).toMatch(/<option value="1h"\s+selected>/);
    expect(page).toContain('<label for="jit-reason">');
    expect(page).toMatch(/<textarea[^>]*id="jit-reason"[^>]*required/);
    // The strict CSP of gateway pages still holds: no script, no inline style beyond the hash.
    expect(page).not.toContain('<script');
    expect(page).not.toContain('style="');
    const csp = String(landed.headers['content-security-policy']);
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain('unsafe-inline');

    const json = await client.request(stack.url('admin.test', '/reports'), {
      headers: JSON_ACCEPT,
    });
    expect(json.status).toBe(403);
    expect(json.json().jit).toEqual({
      grant: 'admin-access',
      max_duration_s: 7200,
      require_reason: true,
      pending: false,
    });
    expect(JSON.stringify(json.json())).not.toContain(hiddenField(page, 'csrf')!);
  });

  test('the durations offered never pass a short maximum, which is always offered; the reason is optional where not required', async () => {
    const { landed } = await browserOf('bob', 'wiki.test', '/');
    expect(landed.status).toBe(403);
    const options = [...landed.text.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]);
    expect(options).toEqual(['15m', '20m']);
    expect(landed.text).not.toMatch(/<textarea[^>]*required/);
    expect(landed.text).toContain('Reason (optional)');
  });

  test('asking files one pending request, shown on the deny page and at /.ztna/access; asking twice files no second one', async () => {
    const requestedBefore = await jitCount('requested');
    const { client } = await browserOf('bob', 'admin.test', '/');
    const asked = await ask(client, { reason: '  on call for incident 42  ', rd: '/reports' });
    expect(asked.status).toBe(303);
    expect(asked.location).toBe(stack.url('admin.test', '/.ztna/access?rd=%2Freports'));

    const confirmation = await client.navigate(asked.location!);
    expect(confirmation.status).toBe(200);
    expect(confirmation.text).toContain('Waiting for an approver');
    expect(confirmation.text).toContain('“on call for incident 42”');
    expect(confirmation.text).toContain('<a href="/reports">Back to the application</a>');
    expect(confirmation.text).not.toContain('value="approve"');

    const denied = await client.navigate(stack.url('admin.test', '/reports'));
    expect(denied.status).toBe(403);
    expect(denied.text).toContain('waiting for an approver');
    expect(denied.text).toContain('for 15m');
    expect(denied.text).toContain('href="/.ztna/access"');
    expect(denied.text).not.toContain('action="/.ztna/access/request"');
    const json = await client.request(stack.url('admin.test', '/reports'), {
      headers: JSON_ACCEPT,
    });
    expect(json.json().jit).toMatchObject({ pending: true });

    const again = await ask(client, { reason: 'asking again', duration: '2h' });
    expect(again.status).toBe(303);
    const mine = (await accessJson(client)).requests;
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      grant: 'admin-access',
      duration_s: 900,
      reason: 'on call for incident 42',
    });
    expect(await pendingFor('bob')).toHaveLength(1);

    const line = await stack.auditLine(
      (l) => l.jit === 'requested' && l.for === 'bob@corp.example',
    );
    expect(line).toMatchObject({
      type: 'audit',
      grant: 'admin-access',
      by: 'bob@corp.example',
      for_sub: 'bob',
      reason: 'on call for incident 42',
      duration_s: 900,
      route: 'admin',
    });
    expect(jitLines('requested', 'bob')).toHaveLength(1);
    expect((await jitCount('requested')) - requestedBefore).toBe(1);
    // The endpoint's own request has its audit line too.
    await stack.auditLine((l) => l.reason === 'access_request' && l.sub === 'bob');
    await stack.auditLine((l) => l.reason === 'access_request:pending_already' && l.sub === 'bob');
  });

  test('bad input is a 400 that says what is wrong, and nothing is stored', async () => {
    const { client } = await browserOf('hank', 'admin.test', '/');
    const cases: [Record<string, string>, RegExp][] = [
      [{ duration: '3h' }, /not among those offered/],
      [{ duration: '30s' }, /not among those offered/],
      [{ duration: 'forever' }, /how long/],
      [{ grant: 'root-access' }, /No application offers/],
      [{ reason: '' }, /Say why/],
      [{ reason: '   \n ' }, /Say why/],
      [{ reason: 'x'.repeat(501) }, /longer than 500/],
      [{ rd: 'https://evil.example/' }, /not a page of this site/],
      [{ rd: '//evil.example/' }, /not a page of this site/],
      [{ rd: `${stack.url('wiki.test', '/')}` }, /not a page of this site/],
    ];
    for (const [fields, problem] of cases) {
      const reply = await ask(client, fields);
      expect([fields, reply.status]).toEqual([fields, 400]);
      expect(reply.text).toMatch(problem);
    }
    const json = await client.request(stack.url('admin.test', '/.ztna/access/request'), {
      method: 'POST',
      headers: { ...FORM, accept: 'application/json' },
      body: new URLSearchParams({
        csrf: await csrfOf(client),
        grant: 'admin-access',
        duration: '5h',
        reason: 'r',
      }).toString(),
    });
    expect(json.status).toBe(400);
    expect(json.json()).toMatchObject({ error: 'ZTNA_ERR_ACCESS_FORM_INVALID' });
    expect((await accessJson(client)).requests).toEqual([]);
    expect(await pendingFor('hank')).toEqual([]);
    expect(jitLines('requested', 'hank')).toEqual([]);
  });

  test('a request without the session form token, or with another, is refused (403) and files nothing', async () => {
    const { client } = await browserOf('hank', 'admin.test', '/');
    const other = await browserOf('carol', 'admin.test', '/');
    for (const csrf of ['', 'forged', await csrfOf(other.client)]) {
      const reply = await ask(client, { csrf });
      expect(reply.status).toBe(403);
      expect(reply.text).toContain('Form expired');
    }
    const noField = await post(client, '/.ztna/access/request', {
      grant: 'admin-access',
      duration: '15m',
      reason: 'r',
    });
    expect(noField.status).toBe(403);
    const json = await client.request(stack.url('admin.test', '/.ztna/access/request'), {
      method: 'POST',
      headers: { ...FORM, accept: 'application/json' },
      body: 'grant=admin-access&duration=15m&reason=r',
    });
    expect(json.json()).toMatchObject({ error: 'ZTNA_ERR_ACCESS_CSRF' });
    expect(await pendingFor('hank')).toEqual([]);
    expect(jitLines('requested', 'hank')).toEqual([]);
  });

  test('only signed-in people ask: without a session the request is refused with a sign-in challenge', async () => {
    const reply = await new TestClient().request(stack.url('admin.test', '/.ztna/access/request'), {
      method: 'POST',
      headers: FORM,
      body: 'grant=admin-access&duration=15m&reason=r&csrf=x',
    });
    expect(reply.status).toBe(401);
  });
});

describe('deciding at /.ztna/access', () => {
  test('an approver without a second factor is sent to step up, once; and cannot decide by POST', async () => {
    // Signed in without a second factor (and denied on the app itself: only grants get in).
    const { client, landed } = await browserOf('alice', 'admin.test', '/');
    expect(landed.status).toBe(403);
    const page = await client.navigate(stack.url('admin.test', '/.ztna/access'));
    expect(page.status).toBe(302);
    const login = new URL(page.location!);
    expect(login.pathname).toBe('/.ztna/login');
    expect(login.searchParams.get('step_up')).toBe('1');
    expect(login.searchParams.get('mfa')).toBe('1');
    expect(login.searchParams.get('max_age')).toBe('600');
    expect(login.searchParams.get('rd')).toBe('/.ztna/access');
    const api = await client.request(stack.url('admin.test', '/.ztna/access'), {
      headers: JSON_ACCEPT,
    });
    expect(api.status).toBe(401);
    expect(api.json()).toMatchObject({ error: 'ZTNA_ERR_STEP_UP_REQUIRED' });

    const [bobs] = await pendingFor('bob');
    const refused = await decide(client, await csrfOf(client), bobs!.id, 'approve');
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('Second factor required');
    expect(await pendingFor('bob')).toHaveLength(1);

    // The step-up sign-in, again without a second factor: the page says so instead of looping.
    const after = await stack.login(client, 'alice', stack.url('admin.test', '/.ztna/access'));
    expect(after.status).toBe(200);
    expect(after.text).toContain('deciding needs a sign-in with a second factor');
    expect(after.text).not.toContain('value="approve"');
  });

  test('someone who is not an approver cannot decide (403), whatever they post', async () => {
    const { client } = await browserOf('carol', 'admin.test', '/');
    const [bobs] = await pendingFor('bob');
    const reply = await decide(client, await csrfOf(client), bobs!.id, 'approve');
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('Not an approver');
    expect((await accessJson(client)).to_decide).toEqual([]);
    expect(await pendingFor('bob')).toHaveLength(1);
  });

  test("a decision without the form token, or with another session's, is refused (403) and changes nothing", async () => {
    const [bobs] = await pendingFor('bob');
    const other = await browserOf('carol', 'admin.test', '/');
    for (const csrf of ['', 'forged', await csrfOf(other.client)]) {
      const reply = await decide(alice, csrf, bobs!.id, 'approve');
      expect(reply.status).toBe(403);
      expect(reply.text).toContain('Form expired');
    }
    expect(await pendingFor('bob')).toHaveLength(1);
    expect(jitLines('approved', 'bob')).toEqual([]);
  });

  test('an approver with MFA sees who, what, how long, why and when, approves, and the person gets in on the next request without signing in again', async () => {
    const approvedBefore = await jitCount('approved');
    const usedBefore = await jitCount('used');
    const page = await alice.navigate(stack.url('admin.test', '/.ztna/access'));
    expect(page.status).toBe(200);
    expect(page.text).toContain('<strong>Bob</strong> (bob@corp.example)');
    expect(page.text).toMatch(/admin-access<\/span> on admin, for\s+15m/);
    expect(page.text).toContain('“on call for incident 42”');
    expect(page.text).toMatch(/<time datetime="[^"]+">/);
    const [bobs] = await pendingFor('bob');
    expect(page.text).toContain(`name="id" value="${bobs!.id}"`);
    expect(page.text).toContain(`<label for="note-${bobs!.id}">`);

    const { client: bob } = await browserOf('bob', 'admin.test', '/');
    expect((await bob.navigate(stack.url('admin.test', '/reports'))).status).toBe(403);

    const approved = await decide(alice, hiddenField(page.text, 'csrf')!, bobs!.id, 'approve');
    expect(approved.status).toBe(303);
    expect(approved.location).toBe(stack.url('admin.test', '/.ztna/access'));
    expect(await pendingFor('bob')).toEqual([]);

    const inside = await bob.navigate(stack.url('admin.test', '/reports?week=12'));
    expect(inside.status).toBe(200);
    expect(stack.upstream.last().url).toBe('/reports?week=12');

    const line = await stack.auditLine((l) => l.jit === 'approved' && l.for === 'bob@corp.example');
    expect(line).toMatchObject({
      grant: 'admin-access',
      by: 'alice@corp.example',
      for_sub: 'bob',
      reason: 'on call for incident 42',
      // The grant names the request it approved: the two audit lines join.
      access_request_id: bobs!.id,
    });
    const used = await stack.auditLine((l) => l.jit === 'used' && l.for === 'bob@corp.example');
    expect(used).toMatchObject({ grant: 'admin-access', grant_id: line.grant_id });
    expect((await jitCount('approved')) - approvedBefore).toBe(1);
    expect((await jitCount('used')) - usedBefore).toBe(1);
    await stack.auditLine((l) => l.reason === 'access_decide:approve' && l.sub === 'alice');

    // /.ztna/me and /.ztna/access list the grant and its expiry, HTML and JSON.
    const me = await bob.request(stack.url('admin.test', '/.ztna/me'), { headers: JSON_ACCEPT });
    const grants = me.json<{ grants: { grant: string; expires_at: string }[] }>().grants;
    expect(grants).toEqual([{ grant: 'admin-access', expires_at: line.expires_at }]);
    const expiresIn = Date.parse(grants[0]!.expires_at) - (Date.now() + offsetMs);
    expect(expiresIn).toBeGreaterThan(14 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(15 * 60_000);
    const meHtml = await bob.navigate(stack.url('admin.test', '/.ztna/me'));
    expect(meHtml.text).toContain('admin-access');
    expect(meHtml.text).toContain('15m left');
    expect((await accessJson(bob)).grants).toEqual(grants);
    // Holding the grant, asking again makes no sense: refused, nothing filed.
    expect((await ask(bob)).status).toBe(409);
    expect(await pendingFor('bob')).toEqual([]);
  });

  test('nobody approves their own request: same sub or same email (403), and it stays pending', async () => {
    const erin = await browserOf('erin', 'admin.test', '/', ERIN_OTP);
    expect(erin.landed.status).toBe(403);
    expect((await ask(erin.client, { reason: 'my own' })).status).toBe(303);
    const own = await erin.client.navigate(stack.url('admin.test', '/.ztna/access'));
    expect(own.status).toBe(200);
    expect(own.text).toContain('“my own”');
    expect(own.text).not.toContain('value="approve"');
    const mine = await accessJson(erin.client);
    expect(mine.to_decide).toEqual([]);
    const id = mine.requests[0]!.id;

    const self = await decide(erin.client, await csrfOf(erin.client), id, 'approve');
    expect(self.status).toBe(403);
    expect(self.text).toContain('Not your decision');
    const alt = await browserOf('erin-alt', 'admin.test', '/.ztna/access', ERIN_OTP);
    expect(alt.landed.status).toBe(200);
    expect(alt.landed.text).not.toContain(`value="${id}"`);
    const sameEmail = await decide(alt.client, await csrfOf(alt.client), id, 'reject');
    expect(sameEmail.status).toBe(403);
    expect(await pendingFor('erin')).toHaveLength(1);
    expect(
      stack.audit().filter((l) => l.jit === 'approved' && l.for === 'erin@corp.example'),
    ).toEqual([]);
  });

  test('a rejected person is still denied, and may ask again', async () => {
    const rejectedBefore = await jitCount('rejected');
    const { client: frank } = await browserOf('frank', 'admin.test', '/');
    expect((await ask(frank, { reason: 'curious' })).status).toBe(303);
    const [request] = await pendingFor('frank');
    const rejected = await decide(alice, await csrfOf(alice), request!.id, 'reject', 'not needed');
    expect(rejected.status).toBe(303);
    const line = await stack.auditLine(
      (l) => l.jit === 'rejected' && l.for === 'frank@corp.example',
    );
    expect(line).toMatchObject({
      by: 'alice@corp.example',
      reason: 'not needed',
      grant: 'admin-access',
    });
    expect((await jitCount('rejected')) - rejectedBefore).toBe(1);

    const denied = await frank.navigate(stack.url('admin.test', '/'));
    expect(denied.status).toBe(403);
    expect(denied.text).toContain('action="/.ztna/access/request"');
    expect((await decide(alice, await csrfOf(alice), request!.id, 'approve')).status).toBe(409);
    expect((await frank.navigate(stack.url('admin.test', '/'))).status).toBe(403);

    expect((await ask(frank, { reason: 'really needed' })).status).toBe(303);
    expect(await pendingFor('frank')).toHaveLength(1);
    expect(jitLines('requested', 'frank')).toHaveLength(2);
  });

  test('two approvals of one request at once give one grant', async () => {
    const { client: gina } = await browserOf('gina', 'admin.test', '/');
    expect((await ask(gina, { reason: 'race' })).status).toBe(303);
    const [request] = await pendingFor('gina');
    const second = (await browserOf('erin', 'admin.test', '/.ztna/access', ERIN_OTP)).client;
    const [aliceCsrf, erinCsrf] = [await csrfOf(alice), await csrfOf(second)];
    // Both approvers click, each several times: all of them read the request as pending first.
    const replies = await Promise.all(
      [1, 2, 3, 4].flatMap(() => [
        decide(alice, aliceCsrf, request!.id, 'approve'),
        decide(second, erinCsrf, request!.id, 'approve'),
      ]),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([303, 409, 409, 409, 409, 409, 409, 409]);
    expect((await accessJson(gina)).grants).toHaveLength(1);
    await stack.auditLine((l) => l.jit === 'approved' && l.for === 'gina@corp.example');
    expect(jitLines('approved', 'gina')).toHaveLength(1);
    expect((await gina.navigate(stack.url('admin.test', '/'))).status).toBe(200);
  });
});

describe('expiry', () => {
  test('once the grant runs out (time moved), the next request is denied and the deny page offers to ask again', async () => {
    const { client: bob, landed } = await browserOf('bob', 'admin.test', '/');
    expect(landed.status).toBe(200);
    offsetMs += 16 * 60_000;
    const denied = await bob.navigate(stack.url('admin.test', '/'));
    expect(denied.status).toBe(403);
    expect(denied.text).toContain('action="/.ztna/access/request"');
    const me = await bob.request(stack.url('admin.test', '/.ztna/me'), { headers: JSON_ACCEPT });
    expect(me.json().grants).toEqual([]);
  });
});
