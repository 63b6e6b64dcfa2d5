import { describe, expect, test } from '@jest/globals';
import { createLoginStateSealer } from './login-state.js';

const state = { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: 'https://wiki.corp.example/' };

describe('login state sealing', () => {
  test('round-trips, step-up requirements included', async () => {
    const sealer = createLoginStateSealer('x'.repeat(32));
    expect(await sealer.open(await sealer.seal(state))).toEqual({ ...state, stepUp: false });
    const stepUp = { ...state, maxAge: 3600, stepUp: true };
    expect(await sealer.open(await sealer.seal(stepUp))).toEqual(stepUp);
  });

  test('refuses tampered, truncated, foreign-key and garbage values', async () => {
    const sealer = createLoginStateSealer('x'.repeat(32));
    const sealed = await sealer.seal(state);
    const parts = sealed.split('.');
    const flipped = parts[3]!.startsWith('A') ? 'B' + parts[3]!.slice(1) : 'A' + parts[3]!.slice(1);
    expect(await sealer.open([...parts.slice(0, 3), flipped, parts[4]].join('.'))).toBeUndefined();
    expect(await sealer.open(sealed.slice(0, -5))).toBeUndefined();
    expect(await createLoginStateSealer('y'.repeat(32)).open(sealed)).toBeUndefined();
    expect(await sealer.open('not-a-jwe')).toBeUndefined();
    expect(await sealer.open('')).toBeUndefined();
  });
});
