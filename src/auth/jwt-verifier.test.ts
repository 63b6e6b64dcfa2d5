import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CompactSign, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { pino } from 'pino';
import { createJwtVerifier } from './jwt-verifier.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const log = pino({ level: 'silent' });
let dir: string;
let privateKey: CryptoKey;
let jwksFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-jwt-'));
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  jwksFile = join(dir, 'jwks.json');
  await writeFile(
    jwksFile,
    JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const issuer = () => ({
  issuer: 'https://mdm.test',
  audiences: ['gw'],
  algorithms: ['ES256'],
  jwksUri: undefined,
  jwksFile,
});
const token = (sub: string, expSeconds = 300) =>
  new SignJWT({ sub })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer('https://mdm.test')
    .setAudience('gw')
    .setIssuedAt(Math.floor(NOW / 1000))
    .setExpirationTime(Math.floor(NOW / 1000) + expSeconds)
    .sign(privateKey);

describe('JWT verifier cache', () => {
  // A cache hit hands back the very same verdict; a fresh verification builds a new one.
  test('a verified token is served from the cache, never past its exp', async () => {
    const verifier = createJwtVerifier([issuer()], {
      clockSkewMs: 0,
      maxTokenAgeMs: 3_600_000,
      log,
    });
    const jwt = await token('a', 60);
    const first = await verifier.verify(jwt, NOW);
    expect(first.ok).toBe(true);
    expect(await verifier.verify(jwt, NOW + 1000)).toBe(first);
    expect(await verifier.verify(jwt, NOW + 61_000)).toEqual({ ok: false, reason: 'expired' });
  });

  test('the cache is bounded: the oldest entry is evicted', async () => {
    const verifier = createJwtVerifier([issuer()], {
      clockSkewMs: 0,
      maxTokenAgeMs: 3_600_000,
      log,
      cacheSize: 1,
    });
    const first = await token('first');
    const verdict = await verifier.verify(first, NOW);
    expect(await verifier.verify(first, NOW)).toBe(verdict);
    expect((await verifier.verify(await token('second'), NOW)).ok).toBe(true);
    const again = await verifier.verify(first, NOW);
    expect(again.ok).toBe(true);
    expect(again).not.toBe(verdict);
  });

  test('refusals are not cached', async () => {
    const verifier = createJwtVerifier([issuer()], {
      clockSkewMs: 0,
      maxTokenAgeMs: 3_600_000,
      log,
    });
    const jwt = await token('late', 60);
    const refused = await verifier.verify(jwt, NOW + 120_000);
    expect(refused).toEqual({ ok: false, reason: 'expired' });
    expect((await verifier.verify(jwt, NOW)).ok).toBe(true);
  });
});

describe('a cached verdict never outlives its limits (SPEC §6)', () => {
  const DAY = 24 * 3_600_000;

  test('the age ceiling is checked on every hit, not only when the token was first verified', async () => {
    const verifier = createJwtVerifier([issuer()], { clockSkewMs: 0, maxTokenAgeMs: DAY, log });
    // Issued almost a day ago, valid for a week more: the ceiling, not exp, is what ends it.
    const jwt = await new SignJWT({ sub: 'old' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://mdm.test')
      .setAudience('gw')
      .setIssuedAt(Math.floor((NOW - DAY + 60_000) / 1000))
      .setExpirationTime(Math.floor((NOW + 7 * DAY) / 1000))
      .sign(privateKey);
    expect((await verifier.verify(jwt, NOW)).ok).toBe(true);
    expect(await verifier.verify(jwt, NOW + 2 * 60_000)).toEqual({ ok: false, reason: 'expired' });
  });

  test('a key removed from a JWKS file stops verifying its cached tokens within 5 s', async () => {
    const own = join(dir, 'removal-jwks.json');
    const pair = await generateKeyPair('ES256', { extractable: true });
    const publish = async (...keys: [CryptoKey, string][]) =>
      writeFile(
        own,
        JSON.stringify({
          keys: await Promise.all(
            keys.map(async ([key, kid]) => ({ ...(await exportJWK(key)), kid, alg: 'ES256' })),
          ),
        }),
      );
    await publish([pair.publicKey, 'old']);
    const verifier = createJwtVerifier([{ ...issuer(), jwksFile: own }], {
      clockSkewMs: 0,
      maxTokenAgeMs: DAY,
      log,
    });
    const jwt = await new SignJWT({ sub: 'a' })
      .setProtectedHeader({ alg: 'ES256', kid: 'old' })
      .setIssuer('https://mdm.test')
      .setAudience('gw')
      .setIssuedAt(Math.floor(NOW / 1000))
      .setExpirationTime(Math.floor(NOW / 1000) + 3600)
      .sign(pair.privateKey);
    const first = await verifier.verify(jwt, NOW);
    expect(first.ok).toBe(true);
    // The key is retired: the file now publishes only its successor.
    const successor = await generateKeyPair('ES256', { extractable: true });
    await publish([successor.publicKey, 'new']);
    expect(await verifier.verify(jwt, NOW + 5_000)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(await verifier.verify(jwt, NOW + 6_000)).toEqual({ ok: false, reason: 'unknown_key' });
  });

  test('a key that stays published keeps its cached tokens cached', async () => {
    const verifier = createJwtVerifier([issuer()], { clockSkewMs: 0, maxTokenAgeMs: DAY, log });
    const jwt = await token('kept', 600);
    const first = await verifier.verify(jwt, NOW);
    expect(first.ok).toBe(true);
    expect(await verifier.verify(jwt, NOW + 60_000)).toBe(first);
  });
});

describe('dates that are not numbers a clock can reach', () => {
  // JSON reads 1e400 as Infinity, and jose accepts any number: signed by a trusted key, such a
  // token would never expire, or (iat -1e400, no age ceiling, as for service tokens) reach the
  // credential-age histogram as an infinite age, which refuses it with a 500. Finite numbers
  // past the Date range do the same (found by the attack review of this check).
  const now = Math.floor(NOW / 1000);
  const signedRaw = (payload: string) =>
    new CompactSign(new TextEncoder().encode(payload))
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
      .sign(privateKey);
  const claims = (dates: string) => `{"sub":"svc","iss":"https://mdm.test","aud":"gw",${dates}}`;

  test.each([
    ['exp of 1e400 (never expires)', `"iat":${now},"exp":1e400`],
    ['iat of -1e400 (infinitely old)', `"iat":-1e400,"exp":${now + 300}`],
    ['nbf of -1e400', `"nbf":-1e400,"iat":${now},"exp":${now + 300}`],
    // Finite, yet past any date: exp * 1000 overflows (cached forever) or is an Invalid Date.
    ['exp of 1e306 (exp * 1000 is Infinity)', `"iat":${now},"exp":1e306`],
    ['exp of 9e15 (past the Date range)', `"iat":${now},"exp":9e15`],
    // Two of these overflow the bearer age histogram's sum to +Inf.
    ['iat of -1.7976931348623157e308', `"iat":-1.7976931348623157e308,"exp":${now + 300}`],
  ])('a token with %s is refused', async (_name, dates) => {
    const verifier = createJwtVerifier([issuer()], { clockSkewMs: 0, log });
    expect(await verifier.verify(await signedRaw(claims(dates)), NOW)).toEqual({
      ok: false,
      reason: 'bad_claims',
    });
  });

  test('the same token with dates a clock can reach is accepted, up to the last Date', async () => {
    const verifier = createJwtVerifier([issuer()], { clockSkewMs: 0, log });
    const verdict = await verifier.verify(
      await signedRaw(claims(`"nbf":${now - 1},"iat":${now},"exp":${now + 300}`)),
      NOW,
    );
    expect(verdict.ok).toBe(true);
    const farthest = await verifier.verify(
      await signedRaw(claims(`"iat":${now},"exp":8.64e12`)),
      NOW,
    );
    expect(farthest.ok).toBe(true);
  });
});
