import type { IdpUser } from '../../src/demo/idp.js';

/** People of the test IdP, one per interesting shape of identity. */
export const TEST_USERS: readonly IdpUser[] = [
  {
    sub: 'alice',
    username: 'alice',
    password: 'pw-alice',
    email: 'Alice@Corp.Example',
    name: 'Alice',
    groups: ['engineering'],
    otp: '246810',
  },
  {
    sub: 'bob',
    username: 'bob',
    password: 'pw-bob',
    email: 'bob@corp.example',
    name: 'Bob',
    groups: ['sales'],
  },
  // No groups claim at all: must match no groups condition.
  {
    sub: 'carol',
    username: 'carol',
    password: 'pw-carol',
    email: 'carol@corp.example',
    name: 'Carol',
  },
  // An email the IdP has not verified: must match no email condition.
  {
    sub: 'mallory',
    username: 'mallory',
    password: 'pw-mallory',
    email: 'ceo@corp.example',
    emailVerified: false,
    name: 'Mallory',
    groups: ['sales'],
  },
];
