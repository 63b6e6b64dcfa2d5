import { describe, expect, test } from '@jest/globals';
import { identityFromClaims } from './identity-from-claims.js';

describe('identityFromClaims', () => {
  test('lower-cases email, keeps groups, drops protocol claims', () => {
    const identity = identityFromClaims(
      {
        sub: 'a',
        email: 'A@Corp.Example',
        groups: ['eng'],
        nonce: 'n',
        iss: 'x',
        aud: 'y',
        auth_time: 1,
      },
      undefined,
      'groups',
    );
    expect(identity).toEqual({
      sub: 'a',
      email: 'a@corp.example',
      emailVerified: undefined,
      groups: ['eng'],
      name: undefined,
      claims: { sub: 'a', email: 'A@Corp.Example', groups: ['eng'], auth_time: 1 },
    });
  });

  test('a malformed groups claim becomes no groups (fail closed)', () => {
    expect(
      identityFromClaims({ sub: 'a', groups: 'eng' }, undefined, 'groups').groups,
    ).toBeUndefined();
    expect(
      identityFromClaims({ sub: 'a', groups: ['eng', 3] }, undefined, 'groups').groups,
    ).toBeUndefined();
  });

  test('nested and namespaced groups claims', () => {
    expect(
      identityFromClaims(
        { sub: 'a', realm_access: { roles: ['r'] } },
        undefined,
        'realm_access.roles',
      ).groups,
    ).toEqual(['r']);
    expect(
      identityFromClaims(
        { sub: 'a', 'https://corp.example/groups': ['g'] },
        undefined,
        'https://corp.example/groups',
      ).groups,
    ).toEqual(['g']);
  });

  test('the signed ID token wins over UserInfo; UserInfo fills gaps', () => {
    const identity = identityFromClaims(
      { sub: 'a', email: 'id@corp.example' },
      { sub: 'a', email: 'ui@corp.example', groups: ['ui'] },
      'groups',
    );
    expect(identity.email).toBe('id@corp.example');
    expect(identity.groups).toEqual(['ui']);
  });

  test('email_verified as a string is understood', () => {
    expect(
      identityFromClaims({ sub: 'a', email_verified: 'false' }, undefined, 'groups').emailVerified,
    ).toBe(false);
  });
});
