import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { compilePolicy } from './compile.js';
import type { PolicySpec } from './compile.js';
import { evaluatePolicy } from './evaluate.js';
import type { TraceEntry } from './evaluate.js';
import type { Identity, PolicyInput } from './types.js';

const request = { method: 'GET', path: '/', segments: [], ip: '10.0.0.1' };
function input(identity: Partial<Identity> | undefined): PolicyInput {
  return { identity: identity && { sub: 's', claims: {}, ...identity }, request };
}
function decide(spec: PolicySpec, identity: Partial<Identity> | undefined) {
  return evaluatePolicy(compilePolicy(spec), input(identity), 0);
}

describe('evaluatePolicy', () => {
  test('no policy denies everyone', () => {
    expect(evaluatePolicy(undefined, input({ groups: ['x'] }), 0)).toEqual({
      effect: 'deny',
      reason: 'deny:no_policy',
    });
  });

  test('default deny when no rule matches', () => {
    expect(decide({ allow: [{ groups: ['eng'] }] }, { groups: ['sales'] })).toEqual({
      effect: 'deny',
      reason: 'deny:no_rule_matched',
    });
  });

  test('the first matching allow rule decides, naming itself', () => {
    const spec = { allow: [{ groups: ['eng'] }, { emails: ['bob@corp.example'] }] };
    expect(decide(spec, { groups: ['sales'], email: 'bob@corp.example' })).toEqual({
      effect: 'allow',
      reason: 'allow:rule[1]',
      rule: 'allow[1]',
    });
  });

  test('deny beats allow and names the condition kind', () => {
    const spec = { allow: [{ groups: ['eng'] }], deny: [{ emails: ['eve@corp.example'] }] };
    expect(decide(spec, { groups: ['eng'], email: 'eve@corp.example' })).toEqual({
      effect: 'deny',
      reason: 'deny:emails',
      rule: 'deny[0]',
    });
  });

  test('all conditions of a rule must hold', () => {
    const spec = { allow: [{ groups: ['eng'], email_domains: ['corp.example'] }] };
    expect(decide(spec, { groups: ['eng'], email: 'a@other.example' }).effect).toBe('deny');
    expect(decide(spec, { groups: ['eng'], email: 'a@corp.example' }).effect).toBe('allow');
  });

  test('emails compare case-insensitively', () => {
    expect(
      decide({ allow: [{ emails: ['Alice@Corp.Example'] }] }, { email: 'alice@corp.example' })
        .effect,
    ).toBe('allow');
  });

  test.each([
    ['a@corp.example', 'allow'],
    ['a@CORP.EXAMPLE', 'allow'],
    ['a@evilcorp.example', 'deny'],
    ['a@corp.example.evil', 'deny'],
    ['a@b@corp.example', 'deny'],
    ['@corp.example', 'deny'],
    ['corp.example', 'deny'],
    ['a@sub.corp.example', 'deny'],
  ])('email_domains: %s → %s', (email, effect) => {
    expect(decide({ allow: [{ email_domains: ['corp.example'] }] }, { email }).effect).toBe(effect);
  });

  test('an email marked unverified matches no email condition', () => {
    expect(
      decide(
        { allow: [{ email_domains: ['corp.example'] }] },
        { email: 'a@corp.example', emailVerified: false },
      ).effect,
    ).toBe('deny');
    expect(
      decide(
        { allow: [{ emails: ['a@corp.example'] }] },
        { email: 'a@corp.example', emailVerified: false },
      ).effect,
    ).toBe('deny');
  });

  test('a missing groups claim matches no groups condition', () => {
    expect(decide({ allow: [{ groups: ['eng'] }] }, { groups: undefined }).effect).toBe('deny');
  });

  test('anonymous input matches nothing but is evaluated safely', () => {
    expect(
      decide({ allow: [{ groups: ['eng'] }, { authenticated: true }] }, undefined).effect,
    ).toBe('deny');
  });

  test('a trace lists every condition and does not change the decision', () => {
    const policy = compilePolicy({
      allow: [{ groups: ['eng'], emails: ['x@corp.example'] }],
      deny: [{ groups: ['blocked'] }],
    });
    const trace: TraceEntry[] = [];
    const traced = evaluatePolicy(policy, input({ groups: ['eng'] }), 0, trace);
    expect(traced).toEqual(evaluatePolicy(policy, input({ groups: ['eng'] }), 0));
    expect(trace.map((t) => [t.rule, t.pass])).toEqual([
      ['deny[0]', false],
      ['allow[0]', true],
      ['allow[0]', false],
    ]);
  });

  test('property: a matching deny rule always wins, whatever the allow rules', () => {
    const groups = fc.constantFrom('eng', 'sales', 'ops', 'blocked');
    fc.assert(
      fc.property(
        fc.array(fc.array(groups, { minLength: 1 }), { maxLength: 4 }),
        fc.array(groups, { maxLength: 3 }),
        (allowSets, mine) => {
          const spec = {
            allow: allowSets.map((g) => ({ groups: g })),
            deny: [{ groups: ['blocked'] }],
          };
          const decision = decide(spec, { groups: [...mine, 'blocked'] });
          expect(decision.effect).toBe('deny');
        },
      ),
    );
  });
});
