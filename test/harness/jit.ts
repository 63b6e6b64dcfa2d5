import { expect } from '@jest/globals';
import type { IdpUser } from '../../src/demo/idp.js';
import { TestClient } from './http-client.js';
import type { Reply } from './http-client.js';
import type { Stack } from './stack.js';
import { TEST_USERS } from './users.js';

/** Issue 14 (SPEC §13): people, routes and browser steps of the just-in-time access tests. */

export const ALICE_OTP = TEST_USERS.find((u) => u.username === 'alice')!.otp!;
export const ERIN_OTP = '135790';

const person = (name: string, groups: string[], extra: Partial<IdpUser> = {}): IdpUser => ({
  sub: name,
  username: name,
  password: `pw-${name}`,
  email: `${name}@corp.example`,
  name: name[0]!.toUpperCase() + name.slice(1),
  groups,
  ...extra,
});

// alice approves (engineering, has a second factor); bob, frank, gina and hank ask; carol is
// nobody's approver; erin is an approver who also asks, and erin-alt is another account of hers
// at the IdP (another sub, the same email).
export const JIT_USERS: readonly IdpUser[] = [
  ...TEST_USERS,
  person('erin', ['engineering'], { otp: ERIN_OTP }),
  person('erin-alt', ['engineering'], { email: 'Erin@corp.example', otp: ERIN_OTP }),
  person('frank', ['sales']),
  person('gina', ['sales']),
  person('hank', ['sales']),
];

export const JIT_ROUTES = (upstream: string) => `version: 1
routes:
  - name: admin
    host: admin.test
    upstream: ${upstream}
    policy:
      allow:
        - { grant: admin-access }
    jit:
      grant: admin-access
      max_duration: 2h
      approvers: { groups: [engineering] }
      require_reason: true
  - name: wiki
    host: wiki.test
    upstream: ${upstream}
    policy:
      allow:
        - { grant: wiki-edit }
    jit: { grant: wiki-edit, max_duration: 20m, approvers: { emails: [alice@corp.example] } }
`;

export const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };
export const JSON_ACCEPT = { accept: 'application/json' };

export function hiddenField(page: string, name: string): string | undefined {
  return new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(page)?.[1];
}

export interface RequestJson {
  id: string;
  grant: string;
  user: string;
  duration_s: number;
  reason: string;
}

/** Browser steps against one gateway instance (`stack` is read when a step runs). */
export function jitSteps(stack: () => Stack) {
  /** A browser signed in as `user` (with a second factor when `otp` is given), landed on `path`. */
  async function browserOf(user: string, host = 'admin.test', path = '/', otp?: string) {
    const client = new TestClient();
    const landed = await stack().login(client, user, stack().url(host, path), otp ? { otp } : {});
    return { client, landed };
  }

  /** The session's form token, from the sign-out confirmation page (every session has one). */
  async function csrfOf(client: TestClient, host = 'admin.test'): Promise<string> {
    const page = await client.navigate(stack().url(host, '/.ztna/logout'));
    const csrf = hiddenField(page.text, 'csrf');
    if (csrf === undefined) throw new Error('no csrf on the sign-out page');
    return csrf;
  }

  function post(
    client: TestClient,
    path: string,
    fields: Record<string, string>,
    host = 'admin.test',
  ) {
    return client.request(stack().url(host, path), {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams(fields).toString(),
    });
  }

  async function ask(
    client: TestClient,
    fields: Partial<Record<'grant' | 'duration' | 'reason' | 'rd' | 'csrf', string>> = {},
    host = 'admin.test',
  ): Promise<Reply> {
    const csrf = fields.csrf ?? (await csrfOf(client, host));
    return post(
      client,
      '/.ztna/access/request',
      { grant: 'admin-access', duration: '15m', reason: 'incident 42', rd: '/', ...fields, csrf },
      host,
    );
  }

  async function accessJson(client: TestClient, host = 'admin.test') {
    const reply = await client.request(stack().url(host, '/.ztna/access'), {
      headers: JSON_ACCEPT,
    });
    expect(reply.status).toBe(200);
    return reply.json<{
      grants: { grant: string; expires_at: string }[];
      requests: RequestJson[];
      to_decide: RequestJson[];
      decide_needs_mfa: boolean;
    }>();
  }

  function decide(
    client: TestClient,
    csrf: string,
    id: string,
    decision: 'approve' | 'reject',
    note = '',
  ) {
    return post(client, '/.ztna/access/decide', { csrf, id, decision, note });
  }

  return { browserOf, csrfOf, post, ask, accessJson, decide };
}
