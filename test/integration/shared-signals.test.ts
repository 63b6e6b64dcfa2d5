import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { COMPLIANT, createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

// Shared Signals receiver (SPEC §14, issue 13): SETs pushed to POST /.ztna/ssf (RFC 8935) by a
// transmitter built here from jose-signed tokens (the posture harness signs any claims).

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const AUDIENCE = 'https://gateway.test';

let stack: Stack;
let transmitter: PostureIssuer;
let stranger: PostureIssuer;
/** A second transmitter (an EDR): its own ids are not the IdP's. */
let edr: PostureIssuer;
let mdm: PostureIssuer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-ssf-'));
  transmitter = await createPostureIssuer('https://signals.idp.test', AUDIENCE);
  stranger = await createPostureIssuer('https://signals.idp.test', AUDIENCE);
  edr = await createPostureIssuer('https://edr.test', AUDIENCE);
  mdm = await createPostureIssuer('https://mdm.test');
  await transmitter.writeJwks(join(dir, 'signals-jwks.json'));
  await edr.writeJwks(join(dir, 'edr-jwks.json'));
  await mdm.writeJwks(join(dir, 'mdm-jwks.json'));
  stack = await startStack({
    gatewayExtra: `shared_signals:
  - name: idp
    issuer: https://signals.idp.test
    audience: ${AUDIENCE}
    jwks_file: ${join(dir, 'signals-jwks.json')}
  - name: edr
    issuer: https://edr.test
    audience: ${AUDIENCE}
    jwks_file: ${join(dir, 'edr-jwks.json')}
posture:
  issuers:
    - issuer: https://mdm.test
      audience: ztna-gateway
      jwks_file: ${join(dir, 'mdm-jwks.json')}`,
    routes: (upstream) => `version: 1
posture_profiles:
  baseline: { managed: true, disk_encrypted: true }
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
  - name: secure
    host: secure.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true, posture: baseline } ] }
`,
  });
});

afterAll(async () => {
  await stack.close();
  await Promise.all([transmitter.close(), stranger.close(), edr.close(), mdm.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** A SET (no exp, as RFC 8417 has it) with one event about `subject`. */
function set(
  event: string,
  subject: Record<string, unknown>,
  body: Record<string, unknown> = {},
  issuer: PostureIssuer = transmitter,
  options: { iat?: number; audience?: string; jti?: string } = {},
): Promise<string> {
  return issuer.mint(
    { jti: options.jti ?? randomUUID(), sub_id: subject, events: { [event]: body } },
    {
      exp: null,
      ...(options.iat !== undefined && { iat: options.iat }),
      ...(options.audience !== undefined && { audience: options.audience }),
    },
  );
}

function push(token: string, contentType = 'application/secevent+jwt') {
  return new TestClient().request(stack.url('app.test', '/.ztna/ssf'), {
    method: 'POST',
    headers: { 'content-type': contentType, accept: 'application/json' },
    body: token,
  });
}

async function signedIn(user: string, host = 'app.test'): Promise<TestClient> {
  const client = new TestClient();
  expect((await stack.login(client, user, stack.url(host, '/'))).status).toBe(200);
  return client;
}

const status = async (client: TestClient, host = 'app.test') =>
  (await client.request(stack.url(host, '/x'), { headers: { accept: 'application/json' } })).status;

const signals = async (event: string, result: string) =>
  sampleValue(await stack.metrics(), 'ztna_shared_signals_total', { event, result });

// Attack review (test/security/README.md, position 7). First in the file on purpose: the
// receiver's replay memory is fresh (nothing remembered
// ahead of this SET), as on a quiet gateway between two transmitter events.
describe('replay of a SET at the edge of its age (clock skew)', () => {
  test('a SET accepted inside the clock-skew margin is refused when pushed again', async () => {
    // 1 h 30 s old: within the hour plus the 60 s clock skew the gateway allows, so accepted.
    const revokeBob = await set(
      `${CAEP}session-revoked`,
      { format: 'email', email: 'bob@corp.example' },
      {},
      transmitter,
      { iat: -3630 },
    );
    const bob = await signedIn('bob');
    expect((await push(revokeBob)).status).toBe(202);
    expect(await status(bob)).toBe(401);

    // bob signs in again; a captured copy of the same SET must not end his new session.
    const again = await signedIn('bob');
    const replay = await push(revokeBob);
    expect([replay.status, await status(again)]).toEqual([400, 200]);
    expect(replay.json<{ err: string }>().err).toBe('invalid_request');
  });
});

describe('subjects of one transmitter never name another namespace’s users (SPEC §14)', () => {
  test('an opaque user id from a transmitter that is not the IdP does not match the IdP’s sub', async () => {
    // SPEC §14 matches users by email or iss+sub. The EDR's opaque id "bob" is the EDR's own
    // identifier (RFC 9493 §3.2.4); it says nothing about whom the IdP calls "bob".
    const bob = await signedIn('bob');
    for (const subject of [
      { format: 'opaque', id: 'bob' },
      { format: 'complex', user: { format: 'opaque', id: 'bob' } },
    ]) {
      const reply = await push(await set(`${CAEP}session-revoked`, subject, {}, edr));
      expect(reply.status).toBe(202);
      expect([subject.format, await status(bob)]).toEqual([subject.format, 200]);
    }
  });
});

describe('device-compliance-change timestamps', () => {
  test('a not-compliant event stamped far in the future does not outlaw the device’s fresh reports forever', async () => {
    const laptop = new TestClient();
    laptop.defaultHeaders = {
      'x-device-posture': await mdm.mint(COMPLIANT, { sub: 'laptop-9', iat: -30 }),
    };
    expect((await stack.login(laptop, 'alice', stack.url('secure.test', '/'))).status).toBe(200);

    // A transmitter with a broken (or hostile) clock: the change "happened" ten years from now.
    const tenYears = Math.floor(Date.now() / 1000) + 10 * 365 * 86_400;
    await push(
      await set(
        `${CAEP}device-compliance-change`,
        { format: 'opaque', id: 'laptop-9' },
        {
          current_status: 'not-compliant',
          previous_status: 'compliant',
          event_timestamp: tenYears,
        },
        edr,
      ),
    );

    // The agent reports again, compliant, after the signal arrived: that counts (SPEC §14:
    // the evidence fails "until new compliant evidence arrives").
    await new Promise((resolve) => setTimeout(resolve, 1100));
    laptop.defaultHeaders = { 'x-device-posture': await mdm.mint(COMPLIANT, { sub: 'laptop-9' }) };
    expect((await stack.login(laptop, 'alice', stack.url('secure.test', '/'))).status).toBe(200);
    expect(await status(laptop, 'secure.test')).toBe(200);
  });
});

describe('metrics', () => {
  // SPEC §10 lists session_revoked, credential_change, device_compliance_change and other; the
  // gateway adds account_disabled deliberately (counting disabled accounts as `other` would hide
  // them from the SRE's dashboard). What must hold: the values stay a fixed, bounded set.
  test('ztna_shared_signals_total uses only a fixed set of event label values', async () => {
    expect(
      (
        await push(
          await set(`${RISC}account-disabled`, {
            format: 'email',
            email: 'nobody@corp.example',
          }),
        )
      ).status,
    ).toBe(202);
    const events = (await stack.metrics())
      .split('\n')
      .filter((line) => line.startsWith('ztna_shared_signals_total{'))
      .map((line) => /event="([^"]*)"/.exec(line)?.[1]);
    expect(events.length).toBeGreaterThan(0);
    const spec = [
      'session_revoked',
      'account_disabled',
      'credential_change',
      'device_compliance_change',
      'other',
    ];
    expect(events.filter((event) => !spec.includes(event!))).toEqual([]);
  });
});

describe('events that end sessions', () => {
  test('CAEP session-revoked by email ends every session of that user, and only theirs', async () => {
    const revokedBefore = await signals('session_revoked', 'applied');
    const [laptop, phone, other] = [
      await signedIn('alice'),
      await signedIn('alice'),
      await signedIn('bob'),
    ];
    const reply = await push(
      await set(`${CAEP}session-revoked`, { format: 'email', email: 'Alice@corp.example' }),
    );
    expect(reply.status).toBe(202);
    expect(await status(laptop)).toBe(401);
    expect(await status(phone)).toBe(401);
    expect(await status(other)).toBe(200);
    expect((await signals('session_revoked', 'applied')) - revokedBefore).toBe(1);
    expect(
      await stack.auditLine((l) => l.path === '/.ztna/ssf' && l.reason === 'ssf:applied'),
    ).toMatchObject({ decision: 'allow', status: 202 });
  });

  test('RISC account-disabled by iss_sub of our IdP ends the user’s sessions; another issuer’s sub is someone else', async () => {
    const bob = await signedIn('bob');
    const foreign = await push(
      await set(`${RISC}account-disabled`, {
        format: 'iss_sub',
        iss: 'https://another-idp.test',
        sub: 'bob',
      }),
    );
    expect(foreign.status).toBe(202);
    expect(await status(bob)).toBe(200);
    const reply = await push(
      await set(`${RISC}account-disabled`, {
        format: 'iss_sub',
        iss: stack.idp.issuer,
        sub: 'bob',
      }),
    );
    expect(reply.status).toBe(202);
    expect(await status(bob)).toBe(401);
  });

  test('CAEP credential-change ends the user’s sessions too; an unknown subject ends nothing', async () => {
    const carol = await signedIn('carol');
    const unknown = await push(
      await set(`${CAEP}credential-change`, { format: 'email', email: 'nobody@corp.example' }),
    );
    expect(unknown.status).toBe(202);
    expect(await status(carol)).toBe(200);
    expect(
      await stack.auditLine((l) => l.path === '/.ztna/ssf' && l.reason === 'ssf:no_match'),
    ).toBeDefined();
    await push(
      await set(`${CAEP}credential-change`, { format: 'email', email: 'carol@corp.example' }),
    );
    expect(await status(carol)).toBe(401);
  });
});

describe('SETs that are refused (RFC 8935 errors), ending nothing', () => {
  test('forged, wrong audience, unknown issuer, replayed, stale, unsigned or mistyped', async () => {
    const alice = await signedIn('alice');
    const about = { format: 'email', email: 'alice@corp.example' };
    const event = `${CAEP}session-revoked`;
    const rejectedBefore = await signals('other', 'rejected');
    const cases: Array<[string, Promise<string> | string, string, string?]> = [
      ['forged (another key)', set(event, about, {}, stranger), 'invalid_key'],
      [
        'wrong audience',
        set(event, about, {}, transmitter, { audience: 'https://other.test' }),
        'invalid_audience',
      ],
      [
        'unknown issuer',
        mdm.mint({ jti: 'x', sub_id: about, events: { [event]: {} } }, { exp: null }),
        'invalid_issuer',
      ],
      ['two hours old', set(event, about, {}, transmitter, { iat: -7200 }), 'invalid_request'],
      [
        'alg none',
        transmitter.unsigned({ jti: 'y', sub_id: about, events: { [event]: {} } }),
        'invalid_key',
      ],
      ['not a SET content type', set(event, about), 'invalid_request', 'application/json'],
    ];
    for (const [name, token, err, contentType] of cases) {
      const reply = await push(await token, contentType);
      expect([name, reply.status, reply.json<{ err: string }>().err]).toEqual([name, 400, err]);
    }
    // The same SET twice: the first is applied… to a user who is not signed in; the replay is not.
    const once = await set(
      event,
      { format: 'email', email: 'dave@corp.example' },
      {},
      transmitter,
      { jti: 'replay-1' },
    );
    expect((await push(once)).status).toBe(202);
    const replay = await push(once);
    expect([replay.status, replay.json<{ err: string }>().err]).toEqual([400, 'invalid_request']);
    expect(await status(alice)).toBe(200);
    expect((await signals('other', 'rejected')) - rejectedBefore).toBe(cases.length + 1);
  });
});

describe('CAEP device-compliance-change', () => {
  test('not-compliant fails the device’s evidence until a newer compliant report arrives', async () => {
    const changesBefore = await signals('device_compliance_change', 'applied');
    const earlier = await mdm.mint(COMPLIANT, { sub: 'laptop-7', iat: -30 });
    const laptop = new TestClient();
    laptop.defaultHeaders = { 'x-device-posture': earlier };
    expect((await stack.login(laptop, 'alice', stack.url('secure.test', '/'))).status).toBe(200);
    expect(await status(laptop, 'secure.test')).toBe(200);

    const reply = await push(
      await set(
        `${CAEP}device-compliance-change`,
        { format: 'complex', device: { format: 'opaque', id: 'laptop-7' } },
        {
          current_status: 'not-compliant',
          previous_status: 'compliant',
          event_timestamp: Math.floor(Date.now() / 1000) - 5,
        },
      ),
    );
    expect(reply.status).toBe(202);
    // The same (older) report no longer counts: the bound session ends, as without evidence.
    expect(await status(laptop, 'secure.test')).toBe(401);
    expect((await signals('device_compliance_change', 'applied')) - changesBefore).toBe(1);

    // A fresh report from the agent, after the signal, counts again.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    laptop.defaultHeaders = { 'x-device-posture': await mdm.mint(COMPLIANT, { sub: 'laptop-7' }) };
    expect((await stack.login(laptop, 'alice', stack.url('secure.test', '/'))).status).toBe(200);
    expect(await status(laptop, 'secure.test')).toBe(200);
  });
});
