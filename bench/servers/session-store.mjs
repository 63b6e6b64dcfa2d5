// A process holding the gateway's memory session store (dist/session/memory-store.js) filled
// with `sessions` sessions shaped like a real login's (src/auth/oidc-callback.ts: identity,
// IdP tokens, createdAt, csrf, bound device, plus express-session's cookie), then its memory
// after garbage collection. Run with --expose-gc.   argument: {"sessions": N}
import { randomBytes } from 'node:crypto';
import { memoryOf } from '../lib/procs.mjs';
import { announceReady, childArgument } from '../lib/protocol.mjs';
import { MemorySessionStore } from '../../dist/session/memory-store.js';

/**
 * Token lengths of a corporate IdP. The store keeps the refresh token only: the access token is
 * not kept (src/session/session-data.ts), and the ID token (1,100 characters) travels sealed in
 * the browser's logout-hint cookie (src/auth/logout-hint.ts).
 */
const REFRESH_TOKEN_CHARS = 900;
const GROUPS = ['engineering', 'everyone', 'vpn-users', 'github-org', 'oncall', 'team-42'];

// Token text comes from one random pool (slices at varying offsets): the store keeps each
// session as its own JSON copy, and filling it leaves no garbage of random buffers behind
// that would inflate RSS beyond what a gateway that received these logins holds.
const POOL = randomBytes(3 * 1024 * 1024).toString('base64url');
let offset = 0;
function random(chars) {
  offset = (offset + 7919 * (chars + 1)) % (POOL.length - chars);
  return POOL.slice(offset, offset + chars);
}
// base64url as an IdP writes it: a run of 4k characters decodes to bytes and back unchanged.
// (Random text whose length is 1 more than a multiple of 4 is not base64url at all.)
const base64url = (chars) => random(chars - (chars % 4));

function sessionOf(i, now) {
  const sub = `00u${String(i).padStart(17, '0')}`;
  const email = `user${i}@corp.example`;
  const authTime = Math.floor(now / 1000);
  return {
    cookie: {
      originalMaxAge: 43_200_000,
      expires: new Date(now + 43_200_000).toISOString(),
      secure: true,
      httpOnly: true,
      path: '/',
      sameSite: 'lax',
    },
    user: {
      sub,
      email,
      emailVerified: true,
      groups: GROUPS,
      name: `User Number ${i}`,
      claims: {
        sub,
        email,
        email_verified: true,
        name: `User Number ${i}`,
        groups: GROUPS,
        amr: ['pwd', 'otp'],
        acr: 'urn:ztna:mfa',
        auth_time: authTime,
      },
    },
    deviceId: `device-${random(12)}`,
    tokens: {
      refreshToken: base64url(REFRESH_TOKEN_CHARS),
      expiresAt: now + 3_600_000,
    },
    createdAt: now,
    csrf: random(43),
  };
}

const { sessions } = childArgument();
const store = new MemorySessionStore(3_600_000);
const started = Date.now();
let jsonBytes = 0;
for (let i = 0; i < sessions; i++) {
  const data = sessionOf(i, started);
  if (i === 0) jsonBytes = JSON.stringify(data).length;
  // Through JSON, as a login's data arrives: every string its own, none a slice of POOL
  // (a store that keeps strings apart from its JSON would otherwise hold 13-byte slices).
  store.set(`${i.toString(36)}-${random(24)}`, JSON.parse(JSON.stringify(data)));
}
const fillMs = Date.now() - started;
await new Promise((resolve) => setTimeout(resolve, 50)); // let set()'s callbacks run
for (let i = 0; i < 3; i++) globalThis.gc();
const { heapUsed } = process.memoryUsage();
announceReady({
  sessions: await store.count(),
  rss: memoryOf(process.pid).rss,
  heapUsed,
  sessionJsonBytes: jsonBytes,
  fillMs,
});
