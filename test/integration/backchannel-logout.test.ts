import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { generateKeyPair, SignJWT } from 'jose';
import WebSocket from 'ws';
import { TestClient } from '../harness/http-client.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { signOutAtIdp, signedIn, signedInAppRoutes } from '../harness/sessions.js';

// OIDC Back-Channel Logout 1.0 (SPEC §9, issue 13): signing out at the IdP ends the gateway
// sessions signed in through that IdP session, open WebSockets included. The IdP is the real
// oidc-provider with its backchannelLogout feature, calling the gateway's endpoint itself.

const routes = signedInAppRoutes;

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

function postLogoutToken(stack: Stack, body: string) {
  return new TestClient().request(stack.url('app.test', '/.ztna/backchannel-logout'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

describe('back-channel logout from the IdP', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ routes });
  });
  afterAll(() => stack.close());

  test('signing out at the IdP ends the gateway session and closes its WebSockets', async () => {
    const client = await signedIn(stack, 'alice');
    const other = await signedIn(stack, 'bob');
    const cookie = await client.jar.getCookieString(stack.url('app.test', '/ws'));
    const socket = new WebSocket(`ws://127.0.0.1:${stack.port}/ws`, {
      headers: { host: `app.test:${stack.port}`, cookie },
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));

    await signOutAtIdp(stack, client);

    const line = await stack.auditLine(
      (l) => l.path === '/.ztna/backchannel-logout' && l.reason === 'backchannel:revoked',
    );
    expect(line.status).toBe(200);
    await closed;
    expect((await client.request(stack.url('app.test', '/after'))).status).toBe(401);
    // Only the IdP session that ended: bob, signed in through another one, stays.
    expect((await other.request(stack.url('app.test', '/after'))).status).toBe(200);
    expect(
      sampleValue(await stack.metrics(), 'ztna_revocation_lag_seconds_count', {
        source: 'backchannel',
      }),
    ).toBe(1);
  });

  test('forged, unsigned and malformed logout tokens are refused and end nothing', async () => {
    const client = await signedIn(stack, 'carol');
    const { privateKey } = await generateKeyPair('RS256');
    const claims = {
      iss: stack.idp.issuer,
      aud: 'gateway-under-test',
      sub: 'carol',
      jti: 'forged-1',
      events: { [EVENT]: {} },
    };
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'demo-idp', typ: 'logout+jwt' })
      .setIssuedAt()
      .sign(privateKey);
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${b64({ alg: 'none' })}.${b64({ ...claims, iat: Math.floor(Date.now() / 1000) })}.`;
    for (const body of [
      `logout_token=${forged}`,
      `logout_token=${unsigned}`,
      'logout_token=not.a.jwt',
      'logout_token=',
      '',
    ]) {
      const reply = await postLogoutToken(stack, body);
      expect(reply.status).toBe(400);
      expect(reply.json()).toMatchObject({ error: 'invalid_request' });
      expect(reply.headers['cache-control']).toBe('no-store');
    }
    expect((await client.request(stack.url('app.test', '/still'))).status).toBe(200);
  });
});
