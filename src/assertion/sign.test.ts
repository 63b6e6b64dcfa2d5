import { beforeAll, describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import type { RequestContext } from '../pipeline/context.js';
import { generateAssertionKey } from './keys.js';
import { createAssertionSigner } from './sign.js';
import type { AssertionKeys } from './keys.js';
import { importJWK } from 'jose';
import type { CryptoKey } from 'jose';

// The signer reuses an assertion for the same claims (one signature per user and route, not per
// request). Reuse must never hand a request an assertion made for anything else: another person,
// group list, device, posture result, route, scheme, credential or grant.

let keys: AssertionKeys;
beforeAll(async () => {
  const jwk = await generateAssertionKey();
  keys = {
    signingKey: (await importJWK({ ...jwk, alg: 'ES256' }, 'ES256')) as CryptoKey,
    signingKid: jwk.kid!,
    jwks: { keys: [] },
  };
});

const HOUR = 3_600_000;
let now = 1_800_000_000_000;

function signer(issuer?: string) {
  return createAssertionSigner({ keys, ttlMs: 60_000, issuer, now: () => now });
}

interface Variant {
  sub?: string;
  email?: string | undefined;
  groups?: readonly string[] | undefined;
  deviceId?: string | undefined;
  reason?: string;
  usesPosture?: boolean;
  auth?: 'session' | 'bearer';
  route?: string;
  scheme?: 'http' | 'https';
  grant?: { grant: string; expiresAt: number } | undefined;
}

function contextOf(v: Variant = {}): RequestContext {
  const has = (key: keyof Variant) => Object.prototype.hasOwnProperty.call(v, key);
  return {
    scheme: v.scheme ?? 'https',
    route: {
      name: v.route ?? 'wiki',
      host: 'wiki.corp.example',
      access: { usesPosture: v.usesPosture ?? true },
    },
    identity: {
      sub: v.sub ?? 'alice',
      email: has('email') ? v.email : 'alice@corp.example',
      groups: has('groups') ? v.groups : ['eng'],
    },
    auth: v.auth ?? 'session',
    posture: {
      source: 'assertion',
      facts:
        has('deviceId') && v.deviceId === undefined
          ? undefined
          : { deviceId: v.deviceId ?? 'laptop-1' },
      email: undefined,
    },
    decision: { effect: 'allow', reason: v.reason ?? 'allow:rule' },
    usedGrant: v.grant,
  } as unknown as RequestContext;
}

describe('the identity assertion signer', () => {
  test('signs once for the same claims, and the claims are the request’s', async () => {
    const assertionFor = signer();
    const first = await assertionFor(contextOf());
    expect(await assertionFor(contextOf())).toBe(first);
    expect(decodeJwt(first!)).toMatchObject({
      iss: 'https://wiki.corp.example',
      aud: 'wiki',
      sub: 'alice',
      email: 'alice@corp.example',
      groups: ['eng'],
      device_id: 'laptop-1',
      posture: 'pass',
      auth: 'session',
    });
  });

  test.each<[string, Variant, Record<string, unknown>]>([
    ['another person', { sub: 'mallory' }, { sub: 'mallory' }],
    ['another email', { email: 'eve@corp.example' }, { email: 'eve@corp.example' }],
    ['no email', { email: undefined }, { email: undefined }],
    ['other groups', { groups: ['eng', 'admins'] }, { groups: ['eng', 'admins'] }],
    ['groups in one string', { groups: ['eng,admins'] }, { groups: ['eng,admins'] }],
    ['no groups', { groups: undefined }, { groups: undefined }],
    ['another device', { deviceId: 'laptop-2' }, { device_id: 'laptop-2' }],
    ['no device', { deviceId: undefined }, { device_id: undefined, posture: 'missing' }],
    ['failed posture', { reason: 'deny:posture.disk_encrypted' }, { posture: 'fail' }],
    ['a route without posture', { usesPosture: false }, { posture: undefined }],
    ['a bearer token', { auth: 'bearer' }, { auth: 'bearer' }],
    ['another route', { route: 'grafana' }, { aud: 'grafana' }],
    ['plain http', { scheme: 'http' }, { iss: 'http://wiki.corp.example' }],
    [
      'a grant',
      { grant: { grant: 'wiki-admin', expiresAt: now + HOUR } },
      { grant: { name: 'wiki-admin', exp: Math.floor((now + HOUR) / 1000) } },
    ],
  ])('is not reused for %s', async (_name, variant, claims) => {
    const assertionFor = signer();
    const plain = await assertionFor(contextOf());
    const other = await assertionFor(contextOf(variant));
    expect(other).not.toBe(plain);
    const payload = decodeJwt(other!);
    for (const [claim, value] of Object.entries(claims)) expect(payload[claim]).toEqual(value);
    // And the plain one is still served to the plain request.
    expect(await assertionFor(contextOf())).toBe(plain);
  });

  test('two grants, or one grant ending at another time, are two assertions', async () => {
    const assertionFor = signer();
    const a = await assertionFor(contextOf({ grant: { grant: 'a', expiresAt: now + HOUR } }));
    const b = await assertionFor(contextOf({ grant: { grant: 'b', expiresAt: now + HOUR } }));
    const later = await assertionFor(
      contextOf({ grant: { grant: 'a', expiresAt: now + 2 * HOUR } }),
    );
    expect(new Set([a, b, later]).size).toBe(3);
  });

  test('a configured issuer is the iss of every assertion', async () => {
    const token = await signer('https://ztna.corp.example')(contextOf({ scheme: 'http' }));
    expect(decodeJwt(token!).iss).toBe('https://ztna.corp.example');
  });

  test("a grant's assertion ends with the grant and is not reused past it", async () => {
    const assertionFor = signer();
    const grant = { grant: 'wiki-admin', expiresAt: now + 10_000 };
    const first = await assertionFor(contextOf({ grant }));
    expect(decodeJwt(first!).exp).toBe(Math.floor(grant.expiresAt / 1000));
    now += 10_000;
    try {
      expect(await assertionFor(contextOf({ grant }))).not.toBe(first);
    } finally {
      now -= 10_000;
    }
  });

  test('nobody to vouch for: no assertion', async () => {
    const context = { ...contextOf(), identity: undefined } as unknown as RequestContext;
    expect(await signer()(context)).toBeUndefined();
  });
});
