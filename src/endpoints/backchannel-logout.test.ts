import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import express from 'express';
import type { SessionData } from 'express-session';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import { pino } from 'pino';
import { BACKCHANNEL_LOGOUT_EVENT, createLogoutTokenVerifier } from '../auth/backchannel-logout.js';
import { createMetrics } from '../metrics/registry.js';
import { attachContext } from '../pipeline/context.js';
import type { RequestContext } from '../pipeline/context.js';
import { MemorySessionStore } from '../session/memory-store.js';
import { createBackchannelLogoutHandler } from './backchannel-logout.js';

// The back-channel logout endpoint with a real verifier against an IdP of our own: a JWKS on
// loopback and its private key, so that tokens the IdP itself would sign can be made.

const ISSUER = 'https://idp.test';
const CLIENT_ID = 'gateway';
let privateKey: CryptoKey;
let jwks: Server;
let jwksUri: string;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  const body = JSON.stringify({
    keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' }],
  });
  jwks = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(body));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
});
afterAll(() => new Promise((resolve) => jwks.close(resolve)));

let jti = 0;
const logoutToken = (claims: JWTPayload) =>
  new SignJWT({ events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, jti: `t-${++jti}`, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'idp-1', typ: 'logout+jwt' })
    .setIssuer(ISSUER)
    .setAudience(CLIENT_ID)
    .setIssuedAt()
    .sign(privateKey);

function session(sub: string, idpSid: string): SessionData {
  return {
    cookie: { originalMaxAge: 3_600_000 },
    user: { sub, email: `${sub}@corp.test`, claims: { sub } },
    tokens: {},
    createdAt: Date.now(),
    csrf: 'x',
    idpSid,
  } as unknown as SessionData;
}

const live = (store: MemorySessionStore, sid: string) =>
  new Promise<boolean>((resolve) => store.get(sid, (_error, data) => resolve(data != null)));

/** The endpoint on a listener of its own, as reserved.ts mounts it. */
async function startEndpoint(store: MemorySessionStore) {
  const app = express();
  app.use((req, _res, next) => {
    attachContext(req, { requestId: 'r-1' } as RequestContext);
    next();
  });
  app.post(
    '/.ztna/backchannel-logout',
    express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 4 }),
    createBackchannelLogoutHandler({
      verifyLogoutToken: createLogoutTokenVerifier({
        clientId: CLIENT_ID,
        idp: async () => ({ issuer: ISSUER, jwksUri }),
        now: Date.now,
      }),
      store,
      endSessions: () => 0,
      metrics: createMetrics(),
      log: pino({ level: 'silent' }),
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.ztna/backchannel-logout`;
  return {
    post: (token: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
      }),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('back-channel logout endpoint', () => {
  test('a logout token for one user never ends another user’s sessions through its sid', async () => {
    const store = new MemorySessionStore(3_600_000);
    store.set('gw-alice', session('alice', 'idp-session-alice'));
    store.set('gw-bob', session('bob', 'idp-session-bob'));
    const endpoint = await startEndpoint(store);
    try {
      // sid and sub name different users (§2.7: the session is the one identified by iss + sid
      // AND sub when both are given). An IdP bug, a mixed-up or shared IdP session id, or a
      // sid reused across accounts must not sign bob out on alice's behalf.
      const reply = await endpoint.post(
        await logoutToken({ sub: 'alice', sid: 'idp-session-bob' }),
      );
      expect(reply.status).toBeLessThan(500);
      // Before: 200, and bob's session was gone.
      expect(await live(store, 'gw-bob')).toBe(true);
    } finally {
      await endpoint.close();
      await store.shutdown();
    }
  });
});
