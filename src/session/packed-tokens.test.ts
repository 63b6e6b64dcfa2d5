import { describe, expect, test } from '@jest/globals';
import { generateKeyPair, SignJWT } from 'jose';
import { PackedTokens } from './packed-tokens.js';

// The memory store keeps IdP tokens as bytes (issue 11, memory); logout sends the ID token
// back as id_token_hint and refresh sends the refresh token: each must come back exactly as
// the IdP wrote it, whatever it is.

const roundTrip = (token: string | undefined) =>
  new PackedTokens({ idToken: token, refreshToken: token, expiresAt: 1 });

describe('packed IdP tokens', () => {
  test('a signed JWT comes back exactly', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const jwt = await new SignJWT({ email: 'alice@corp.example', groups: ['eng'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('00u1')
      .setIssuedAt()
      .sign(privateKey);
    const packed = roundTrip(jwt);
    expect(packed.idToken).toBe(jwt);
    expect(packed.refreshToken).toBe(jwt);
    expect(packed.expiresAt).toBe(1);
  });

  test.each([
    ['empty', ''],
    ['opaque base64url', 'tGzv3JOkF0XG5Qx2TlKWIA'],
    ['padding', 'YWJjZA=='],
    ['standard base64', 'a+b/c+d/'],
    ['stray bits in the last character', 'YWJjZB'],
    ['a length base64url cannot have', 'abcde'],
    ['empty segments', 'a..b.'],
    ['a Keycloak/Entra-like mix', '0.AXoA-x_y.z'],
    ['text', 'refresh token with spaces and é and 漢字'],
    ['a lone surrogate', 'x\ud800y'],
    ['more than 255 segments', 'QQ.'.repeat(300)],
    ['a segment over 65535 bytes', 'A'.repeat(100_000)],
  ])('%s comes back exactly', (_name, token) => {
    expect(roundTrip(token).idToken).toBe(token);
  });

  test('absent tokens stay absent', () => {
    const packed = new PackedTokens({
      idToken: undefined,
      refreshToken: undefined,
      expiresAt: undefined,
    });
    expect([packed.idToken, packed.refreshToken, packed.expiresAt]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('serializes as the tokens, and cannot be changed in place', () => {
    const packed = new PackedTokens({ idToken: 'aWQ', refreshToken: 'cmVm', expiresAt: 5 });
    expect(JSON.parse(JSON.stringify(packed))).toEqual({
      idToken: 'aWQ',
      refreshToken: 'cmVm',
      expiresAt: 5,
    });
    expect(() => {
      (packed as unknown as { expiresAt: number }).expiresAt = 6;
    }).toThrow(TypeError);
    expect(() => {
      (packed as unknown as { idToken: string }).idToken = 'x';
    }).toThrow(TypeError);
  });
});
