import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { COMPLIANT, createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

// Review of the Shared Signals receiver (SPEC §14, attacker position 7: a forger or replayer of
// Security Event Tokens, and a configured transmitter whose events reach too far).

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const AUDIENCE = 'https://gateway.test';

let stack: Stack;
let signalsIdp: PostureIssuer;
let edr: PostureIssuer;
let mdm: PostureIssuer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-ssf-review-'));
  signalsIdp = await createPostureIssuer('https://signals.idp.test', AUDIENCE);
  edr = await createPostureIssuer('https://edr.test', AUDIENCE);
  mdm = await createPostureIssuer('https://mdm.test');
  await signalsIdp.writeJwks(join(dir, 'signals-jwks.json'));
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
  await Promise.all([signalsIdp.close(), edr.close(), mdm.close()]);
  await rm(dir, { recursive: true, force: true });
});

function set(
  issuer: PostureIssuer,
  event: string,
  subject: Record<string, unknown>,
  body: Record<string, unknown> = {},
  options: { iat?: number } = {},
): Promise<string> {
  return issuer.mint(
    { jti: randomUUID(), sub_id: subject, events: { [event]: body } },
    { exp: null, ...(options.iat !== undefined && { iat: options.iat }) },
  );
}

function push(token: string) {
  return new TestClient().request(stack.url('app.test', '/.ztna/ssf'), {
    method: 'POST',
    headers: { 'content-type': 'application/secevent+jwt', accept: 'application/json' },
    body: token,
  });
}

async function signedIn(user: string): Promise<TestClient> {
  const client = new TestClient();
  expect((await stack.login(client, user, stack.url('app.test', '/'))).status).toBe(200);
  return client;
}

const status = async (client: TestClient, host = 'app.test') =>
  (await client.request(stack.url(host, '/x'), { headers: { accept: 'application/json' } })).status;

// First in the file on purpose: the receiver's replay memory is fresh (nothing remembered
// ahead of this SET), as on a quiet gateway between two transmitter events.
describe('replay of a SET at the edge of its age (clock skew)', () => {
  test('a SET accepted inside the clock-skew margin is refused when pushed again', async () => {
    // 1 h 30 s old: within the hour plus the 60 s clock skew the gateway allows, so accepted.
    const revokeBob = await set(
      signalsIdp,
      `${CAEP}session-revoked`,
      { format: 'email', email: 'bob@corp.example' },
      {},
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
      const reply = await push(await set(edr, `${CAEP}session-revoked`, subject));
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
        edr,
        `${CAEP}device-compliance-change`,
        { format: 'opaque', id: 'laptop-9' },
        {
          current_status: 'not-compliant',
          previous_status: 'compliant',
          event_timestamp: tenYears,
        },
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
          await set(signalsIdp, `${RISC}account-disabled`, {
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
