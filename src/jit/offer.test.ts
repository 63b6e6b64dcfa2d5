import { describe, expect, test } from '@jest/globals';
import type { Identity } from '../policy/types.js';
import { isApprover } from './offer.js';
import type { JitOffer } from './offer.js';

const offer: JitOffer = {
  grant: 'wiki-admin',
  maxDurationMs: 4 * 3_600_000,
  approvers: {
    groups: new Set(['wiki-owners']),
    emails: new Set(['alice@corp.example']),
  },
  requireReason: false,
  route: 'wiki',
  host: 'wiki.corp.example',
  label: 'jit',
};

function person(fields: Partial<Identity>): Identity {
  return { sub: 'u-1', claims: {}, ...fields };
}

describe('isApprover (SPEC §13)', () => {
  test('a member of an approver group', () => {
    expect(isApprover(offer, person({ groups: ['staff', 'wiki-owners'] }))).toBe(true);
  });

  test('group names compare exactly: no case folding, no prefix', () => {
    for (const group of ['Wiki-Owners', 'wiki-owner', 'wiki-owners-x', 'wiki'])
      expect(isApprover(offer, person({ groups: [group] }))).toBe(false);
  });

  test('a listed email, whatever its case', () => {
    expect(isApprover(offer, person({ email: 'alice@corp.example' }))).toBe(true);
    expect(isApprover(offer, person({ email: 'Alice@Corp.Example' }))).toBe(true);
    expect(isApprover(offer, person({ email: 'alice@corp.example', emailVerified: true }))).toBe(
      true,
    );
  });

  test('an email the IdP says is unverified never counts', () => {
    expect(isApprover(offer, person({ email: 'alice@corp.example', emailVerified: false }))).toBe(
      false,
    );
  });

  test('anyone else, and no one at all, is not an approver', () => {
    expect(isApprover(offer, person({ email: 'bob@corp.example', groups: ['sales'] }))).toBe(false);
    expect(isApprover(offer, person({ email: 'alice@corp.example.evil' }))).toBe(false);
    expect(isApprover(offer, person({ sub: 'alice@corp.example' }))).toBe(false);
    expect(isApprover(offer, undefined)).toBe(false);
  });

  test('a workload never approves, whatever its token claims', () => {
    const workload = { issuer: 'https://kubernetes.default.svc', name: 'k8s-prod' };
    expect(
      isApprover(offer, person({ workload, groups: ['wiki-owners'], email: 'alice@corp.example' })),
    ).toBe(false);
  });
});
