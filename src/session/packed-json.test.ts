import { describe, expect, test } from '@jest/globals';
import { packJson, unpackJson } from './packed-json.js';

// The memory store keeps each session's JSON deflated: what comes back must be exactly what
// went in, whatever the IdP put in the claims.

const session = JSON.stringify({
  cookie: {
    originalMaxAge: 43_200_000,
    expires: '2026-11-29T16:00:00.000Z',
    secure: true,
    httpOnly: true,
    path: '/',
    sameSite: 'lax',
  },
  user: {
    sub: '00u1a2b3c4d5e6f7g8h9',
    email: 'alice@corp.example',
    emailVerified: true,
    groups: ['engineering', 'everyone', 'vpn-users'],
    name: 'Alice Martin',
    claims: {
      sub: '00u1a2b3c4d5e6f7g8h9',
      email: 'alice@corp.example',
      email_verified: true,
      name: 'Alice Martin',
      groups: ['engineering', 'everyone', 'vpn-users'],
      amr: ['pwd', 'otp'],
      acr: 'urn:ztna:mfa',
      auth_time: 1_764_403_200,
    },
  },
  deviceId: 'device-laptop-0001',
  createdAt: 1_764_403_200_000,
  csrf: 'q4wMx1V0bq3m9Xg8YzJt2kqkN1r5pQ7sH0aLd9cFvEo',
});

describe('packed session JSON', () => {
  test('a session packs to well under half its JSON and comes back exactly', () => {
    const packed = packJson(session);
    expect(packed.length).toBeLessThan(session.length / 2);
    expect(unpackJson(packed)).toBe(session);
  });

  test('any text comes back exactly: non-Latin names, escapes, lone surrogates, nothing at all', () => {
    for (const text of [
      '{}',
      '',
      JSON.stringify({ name: 'Zoë Ångström 山田太郎 🙂', note: 'a\u0000b\n"c"\\' }),
      JSON.stringify({ odd: '\ud800 alone' }),
      JSON.stringify({ big: 'x'.repeat(100_000) }),
    ]) {
      const packed = packJson(text);
      // Held as one byte a character: every code unit of the packed form is a byte.
      expect([...packed].every((c) => c.charCodeAt(0) < 256)).toBe(true);
      expect(unpackJson(packed)).toBe(text);
    }
  });
});
