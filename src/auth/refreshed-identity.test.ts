import { describe, expect, test } from '@jest/globals';
import { identityFromClaims, refreshedIdentity } from './identity-from-claims.js';

const before = identityFromClaims(
  {
    sub: 'alice',
    email: 'alice@corp.example',
    groups: ['engineering', 'admins'],
    department: 'platform',
    auth_time: 1000,
    amr: ['pwd', 'otp'],
    acr: 'urn:ztna:mfa',
  },
  undefined,
  'groups',
);

describe('refreshedIdentity (issue 12 item 4)', () => {
  test('keeps nothing the IdP no longer says: groups and other claims come from the refresh', () => {
    const after = refreshedIdentity(
      before,
      { sub: 'alice', email: 'alice@corp.example' },
      undefined,
      'groups',
    );
    expect(after.groups).toBeUndefined();
    expect(after.claims.groups).toBeUndefined();
    expect(after.claims.department).toBeUndefined();
  });

  test('UserInfo groups replace the old ones', () => {
    const after = refreshedIdentity(
      before,
      { sub: 'alice' },
      { sub: 'alice', groups: ['sales'] },
      'groups',
    );
    expect(after.groups).toEqual(['sales']);
  });

  test('auth_time, amr and acr carry over only when the refresh lacks them', () => {
    const kept = refreshedIdentity(before, { sub: 'alice' }, undefined, 'groups');
    expect(kept.claims).toMatchObject({
      auth_time: 1000,
      amr: ['pwd', 'otp'],
      acr: 'urn:ztna:mfa',
    });
    const fresh = refreshedIdentity(
      before,
      { sub: 'alice', auth_time: 2000, amr: ['pwd'], acr: 'urn:ztna:pwd' },
      undefined,
      'groups',
    );
    expect(fresh.claims).toMatchObject({ auth_time: 2000, amr: ['pwd'], acr: 'urn:ztna:pwd' });
  });
});
