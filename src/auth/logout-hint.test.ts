import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { createLogoutHintSealer, maxSealedIdTokenChars } from './logout-hint.js';

// The logout-hint cookie carries the ID token to the browser and back: only the gateway can
// read it, and only for the session it was sealed for.

const SECRET = 'a-session-secret-of-at-least-32-characters!!';
const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

afterEach(() => {
  jest.useRealTimers();
});

describe('the logout-hint sealer', () => {
  test('gives the ID token back for the session it was sealed for, and for no other', async () => {
    const sealer = createLogoutHintSealer(SECRET);
    const sealed = await sealer.seal(ID_TOKEN, 'session-a', 3600);
    expect(sealed).not.toContain(ID_TOKEN);
    expect(sealed).not.toContain('alice');
    expect(await sealer.open(sealed, 'session-a')).toBe(ID_TOKEN);
    expect(await sealer.open(sealed, 'session-b')).toBeUndefined();
  });

  test('a value changed anywhere, sealed under another secret, or malformed opens to nothing', async () => {
    const sealer = createLogoutHintSealer(SECRET);
    const sealed = await sealer.seal(ID_TOKEN, 'session-a', 3600);
    const parts = sealed.split('.');
    for (let i = 0; i < parts.length; i++) {
      const changed = [...parts];
      const part = changed[i]!;
      changed[i] = (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
      expect(await sealer.open(changed.join('.'), 'session-a')).toBeUndefined();
    }
    const other = createLogoutHintSealer(`${SECRET}-rotated`);
    expect(await other.open(sealed, 'session-a')).toBeUndefined();
    for (const junk of ['', 'x', 'a.b.c.d.e', `${sealed}.x`])
      expect(await sealer.open(junk, 'session-a')).toBeUndefined();
  });

  test('it expires with the session it was made for', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const sealer = createLogoutHintSealer(SECRET);
    const sealed = await sealer.seal(ID_TOKEN, 'session-a', 60);
    jest.setSystemTime(Date.now() + 59_000);
    expect(await sealer.open(sealed, 'session-a')).toBe(ID_TOKEN);
    jest.setSystemTime(Date.now() + 2_000);
    expect(await sealer.open(sealed, 'session-a')).toBeUndefined();
  });
});

describe('which ID tokens travel in the cookie', () => {
  test('the longest one sealed fits a browser cookie and a quarter of the request head', async () => {
    const sealer = createLogoutHintSealer(SECRET);
    for (const maxHeaderBytes of [4_096, 8_192, 16_384, 65_536]) {
      const chars = maxSealedIdTokenChars(maxHeaderBytes);
      const sealed = await sealer.seal('x'.repeat(chars), 'session-a', 43_200);
      expect(sealed.length).toBeLessThanOrEqual(Math.min(4_000, maxHeaderBytes / 4));
    }
    // The usual ID token (about 1,100 characters) travels with the default 16 KiB limit.
    expect(maxSealedIdTokenChars(16_384)).toBeGreaterThan(2_000);
  });
});
