import type { IdpUser } from './idp.js';

/** The demo's people: alice may open everything, bob only what sales may. */
export const DEMO_USERS: readonly IdpUser[] = [
  {
    sub: 'alice',
    username: 'alice',
    password: 'demo',
    email: 'alice@corp.example',
    name: 'Alice Engineer',
    groups: ['engineering', 'everyone'],
    otp: '123456',
  },
  {
    sub: 'bob',
    username: 'bob',
    password: 'demo',
    email: 'bob@corp.example',
    name: 'Bob Sales',
    groups: ['sales', 'everyone'],
  },
];
