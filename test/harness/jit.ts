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

/**
 * The Fetch Metadata a browser sends when a person clicks a form's button on a page of the same
 * origin (over HTTPS or localhost); the access endpoints accept forms with nothing less.
 */
export const CLICKED = {
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-user': '?1',
} as const;

/** A form a person submitted by clicking its button, as a browser posts it. */
export const FORM = {
  'content-type': 'application/x-www-form-urlencoded',
  accept: 'text/html',
  ...CLICKED,
};
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
  /**
   * A browser signed in as `user`, landed on `path`. With `otp`, the sign-in is the one
   * /.ztna/access asks of approvers (a second factor, `max_age` so the ID token says when):
   * deciding needs it to be at most 10 minutes old.
   */
  async function browserOf(user: string, host = 'admin.test', path = '/', otp?: string) {
    const client = new TestClient();
    const url =
      otp === undefined
        ? stack().url(host, path)
        : stack().url(
            host,
            `/.ztna/login?step_up=1&mfa=1&max_age=600&rd=${encodeURIComponent(path)}`,
          );
    const landed = await stack().login(client, user, url, otp ? { otp } : {});
    return { client, landed };
  }

  /** The session's form token, from the sign-out confirmation page (every session has one). */
  async function csrfOf(client: TestClient, host = 'admin.test'): Promise<string> {
    const page = await client.navigate(stack().url(host, '/.ztna/logout'));
    const csrf = hiddenField(page.text, 'csrf');
    if (csrf === undefined) throw new Error('no csrf on the sign-out page');
    return csrf;
  }

  /** A form posted as a browser does when the person clicks (`headers` replace or add to it). */
  function post(
    client: TestClient,
    path: string,
    fields: Record<string, string>,
    host = 'admin.test',
    headers: Record<string, string> = {},
  ) {
    return client.request(stack().url(host, path), {
      method: 'POST',
      headers: { ...FORM, ...headers },
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
