import { describe, expect, test } from '@jest/globals';
import { compilePolicy } from './compile.js';
import type { PolicySpec } from './compile.js';
import { decideAccess } from './route-access.js';
import type { CompiledAccess, CompiledSubRule } from './route-access.js';
import { testCompileContext } from './test-context.js';
import type { Identity, PolicyInput } from './types.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const HOUR = 3_600_000;
const MFA = { amr: ['pwd', 'otp'], auth_time: Math.floor(NOW / 1000) };

/**
 * The wiki of routes.yaml with just-in-time access: reading is for engineering or a
 * `wiki-admin` grant (offered by the route's jit); `/admin` writes need wiki-admins or a
 * `wiki-write` grant (offered by the sub-rule's own jit); `/billing` tests the route's grant
 * without a jit of its own; `/audit` tests no grant at all.
 */
function wikiAccess(): CompiledAccess {
  const context = testCompileContext();
  const sub = (
    label: string,
    path: string,
    spec: PolicySpec,
    jit?: string,
    methods?: string[],
  ): CompiledSubRule => ({
    label,
    pathSegments: [path],
    methods: methods && new Set(methods),
    policy: compilePolicy(spec, context, `${label}.`),
    jit,
  });
  const policy = compilePolicy(
    { allow: [{ groups: ['engineering'] }, { grant: 'wiki-admin' }] },
    context,
  );
  const subRules = [
    sub(
      'rules[0]',
      'admin',
      { allow: [{ groups: ['wiki-admins'] }, { grant: 'wiki-write', mfa: true }] },
      'wiki-write',
      ['POST'],
    ),
    sub('rules[1]', 'billing', { allow: [{ grant: 'wiki-admin' }] }),
    sub('rules[2]', 'audit', { allow: [{ groups: ['auditors'] }] }),
  ];
  return { policy, subRules, usesPosture: false, usesGrants: true, jit: 'wiki-admin' };
}

function decide(
  path: string,
  person: Partial<Identity>,
  grants: Record<string, number> = {},
  method = 'GET',
) {
  const input: PolicyInput = {
    identity: { sub: 'bob', email: 'bob@corp.example', claims: {}, ...person },
    request: { method, path, segments: path.split('/').filter(Boolean), ip: '10.0.0.1' },
    grants: new Map(Object.entries(grants)),
  };
  return decideAccess(wikiAccess(), input, NOW);
}

describe('decideAccess: what a denial offers (SPEC §13)', () => {
  test('a denial under the route policy offers the route’s grant', () => {
    expect(decide('/page', { groups: ['sales'] })).toEqual({
      effect: 'deny',
      reason: 'deny:no_rule_matched',
      jit: 'wiki-admin',
    });
  });

  test('a denial under a sub-rule with its own jit offers the sub-rule’s grant, not the route’s', () => {
    expect(decide('/admin/settings', { groups: ['engineering'] }, {}, 'POST')).toMatchObject({
      effect: 'deny',
      jit: 'wiki-write',
    });
  });

  test('a sub-rule without a jit offers the route’s grant where it tests it', () => {
    expect(decide('/billing', { groups: ['sales'] })).toMatchObject({
      effect: 'deny',
      jit: 'wiki-admin',
    });
  });

  test('a sub-rule that tests no grant offers nothing: the route’s grant would not let one in', () => {
    const decision = decide('/audit', { groups: ['sales'] });
    expect(decision.effect).toBe('deny');
    expect(decision).not.toHaveProperty('jit');
  });

  test('a route policy that tests no grant offers nothing, though a sub-rule tests the route’s', () => {
    const context = testCompileContext();
    const access: CompiledAccess = {
      policy: compilePolicy({ allow: [{ groups: ['engineering'] }] }, context),
      subRules: [
        {
          label: 'rules[0]',
          pathSegments: ['admin'],
          methods: undefined,
          policy: compilePolicy({ allow: [{ grant: 'wiki-admin' }] }, context, 'rules[0].'),
        },
      ],
      usesPosture: false,
      usesGrants: true,
      jit: 'wiki-admin',
    };
    const input = (path: string): PolicyInput => ({
      identity: { sub: 'bob', claims: {} },
      request: { method: 'GET', path, segments: path.split('/').filter(Boolean), ip: '10.0.0.1' },
    });
    expect(decideAccess(access, input('/page'), NOW)).toEqual({
      effect: 'deny',
      reason: 'deny:no_rule_matched',
    });
    expect(decideAccess(access, input('/admin'), NOW)).toMatchObject({ jit: 'wiki-admin' });
  });

  test('allow and step-up decisions never carry an offer', () => {
    const allowed = decide('/page', { groups: ['engineering'] });
    expect(allowed).toEqual({ effect: 'allow', reason: 'allow:rule[0]', rule: 'allow[0]' });
    // The grant is held but the rule also needs MFA: sign in again, nothing to ask for.
    const stepUp = decide('/admin/x', { groups: [] }, { 'wiki-write': NOW + HOUR }, 'POST');
    expect(stepUp.effect).toBe('step_up');
    expect(stepUp).not.toHaveProperty('jit');
  });
});

describe('decideAccess: an allow by a grant names it', () => {
  test('the route policy’s grant rule', () => {
    expect(decide('/page', { groups: ['sales'] }, { 'wiki-admin': NOW + HOUR })).toEqual({
      effect: 'allow',
      reason: 'allow:rule[1]',
      rule: 'allow[1]',
      grant: 'wiki-admin',
    });
  });

  test('a sub-rule’s grant rule, with its other conditions met', () => {
    expect(decide('/admin/x', { claims: MFA }, { 'wiki-write': NOW + HOUR }, 'POST')).toMatchObject(
      { effect: 'allow', rule: 'rules[0].allow[1]', grant: 'wiki-write' },
    );
  });

  test('an allow by another rule does not name a grant the person happens to hold', () => {
    const decision = decide('/page', { groups: ['engineering'] }, { 'wiki-admin': NOW + HOUR });
    expect(decision).toMatchObject({ effect: 'allow', rule: 'allow[0]' });
    expect(decision).not.toHaveProperty('grant');
  });

  test('the grant of another policy does not open this one', () => {
    expect(decide('/page', { groups: ['sales'] }, { 'wiki-write': NOW + HOUR })).toMatchObject({
      effect: 'deny',
      jit: 'wiki-admin',
    });
  });

  test('an expired grant denies, and offers to ask again', () => {
    expect(decide('/page', { groups: ['sales'] }, { 'wiki-admin': NOW })).toMatchObject({
      effect: 'deny',
      jit: 'wiki-admin',
    });
  });
});
