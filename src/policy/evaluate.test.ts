import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { compilePolicy } from './compile.js';
import type { PolicySpec, RuleSpec } from './compile.js';
import { evaluatePolicy } from './evaluate.js';
import type { TraceEntry } from './evaluate.js';
import { testCompileContext } from './test-context.js';
import type { Identity, PolicyInput } from './types.js';

const request = { method: 'GET', path: '/', segments: [], ip: '10.0.0.1' };
function input(identity: Partial<Identity> | undefined): PolicyInput {
  return { identity: identity && { sub: 's', claims: {}, ...identity }, request };
}
function decide(spec: PolicySpec, identity: Partial<Identity> | undefined) {
  return evaluatePolicy(compilePolicy(spec, testCompileContext()), input(identity), 0);
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
    const policy = compilePolicy(
      {
        allow: [{ groups: ['eng'], emails: ['x@corp.example'] }],
        deny: [{ groups: ['blocked'] }],
      },
      testCompileContext(),
    );
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

describe('near misses: step-up and posture reasons', () => {
  const NOW = 1_800_000_000_000;
  const eng = (claims: Record<string, unknown> = {}) => ({
    identity: { sub: 'u', groups: ['eng'], claims },
    request,
  });

  test('a rule failing only on mfa asks for a step-up, saying what the new login must bring', () => {
    const policy = compilePolicy(
      { allow: [{ groups: ['eng'], mfa: true, auth_max_age: 3_600_000 }] },
      testCompileContext(),
    );
    expect(evaluatePolicy(policy, eng({ amr: ['pwd'], auth_time: NOW / 1000 }), NOW)).toEqual({
      effect: 'step_up',
      reason: 'step_up:mfa',
      rule: 'allow[0]',
      stepUp: { mfa: true, maxAgeMs: 3_600_000 },
    });
  });

  test('a rule failing only on auth_max_age asks for a fresh login', () => {
    const policy = compilePolicy(
      { allow: [{ groups: ['eng'], auth_max_age: 600_000 }] },
      testCompileContext(),
    );
    const decision = evaluatePolicy(policy, eng({ auth_time: NOW / 1000 - 3600 }), NOW);
    expect(decision).toMatchObject({
      effect: 'step_up',
      reason: 'step_up:auth_max_age',
      stepUp: { mfa: false, maxAgeMs: 600_000 },
    });
  });

  test('posture wins over step-up: a new login would not fix the device', () => {
    const policy = compilePolicy(
      { allow: [{ groups: ['eng'], mfa: true, posture: { managed: true } }] },
      testCompileContext(),
    );
    expect(evaluatePolicy(policy, eng(), NOW)).toMatchObject({
      effect: 'deny',
      reason: 'deny:posture.missing',
    });
  });

  test('a hard failure in one rule and a soft one in another: the soft one explains', () => {
    const policy = compilePolicy(
      { allow: [{ groups: ['admins'] }, { groups: ['eng'], mfa: true }] },
      testCompileContext(),
    );
    expect(evaluatePolicy(policy, eng(), NOW)).toMatchObject({
      effect: 'step_up',
      rule: 'allow[1]',
    });
  });

  test('a matching deny rule beats any near miss', () => {
    const policy = compilePolicy(
      { allow: [{ groups: ['eng'], mfa: true }], deny: [{ groups: ['eng'] }] },
      testCompileContext(),
    );
    expect(evaluatePolicy(policy, eng(), NOW)).toMatchObject({
      effect: 'deny',
      reason: 'deny:groups',
    });
  });
});

describe('property: the engine agrees with a naive reading of SPEC §5', () => {
  // A small universe of conditions, each with an independent oracle implementation.
  const GROUPS = ['eng', 'sales', 'ops'];
  const DOMAINS = ['corp.example', 'other.example'];
  const METHODS = ['GET', 'POST'];
  const PATHS = ['/a', '/b'];
  const condition = fc.oneof(
    fc.record({ groups: fc.subarray(GROUPS, { minLength: 1 }) }),
    fc.record({ email_domains: fc.subarray(DOMAINS, { minLength: 1 }) }),
    fc.record({ methods: fc.subarray(METHODS, { minLength: 1 }) }),
    fc.record({ paths: fc.subarray(PATHS, { minLength: 1 }) }),
    fc.record({ ip: fc.constantFrom(['10.0.0.0/8'], ['192.168.0.0/16']) }),
  );
  const rule = fc
    .array(condition, { minLength: 1, maxLength: 3 })
    .map((cs) => Object.assign({}, ...cs) as RuleSpec);
  const spec = fc.record({
    allow: fc.array(rule, { maxLength: 3 }),
    deny: fc.array(rule, { maxLength: 2 }),
  });
  const requestFacts = fc.record({
    groups: fc.option(fc.subarray(GROUPS), { nil: undefined }),
    domain: fc.constantFrom(...DOMAINS, 'evil.example'),
    method: fc.constantFrom(...METHODS, 'DELETE'),
    path: fc.constantFrom('/a', '/a/x', '/b', '/c', '/'),
    ip: fc.constantFrom('10.1.2.3', '192.168.0.9', '8.8.8.8'),
  });

  function oracleRuleHolds(
    r: RuleSpec,
    f: typeof requestFacts extends fc.Arbitrary<infer T> ? T : never,
  ): boolean {
    if (r.groups && !(f.groups ?? []).some((g) => r.groups!.includes(g))) return false;
    if (r.email_domains && !r.email_domains.includes(f.domain)) return false;
    if (r.methods && !r.methods.includes(f.method)) return false;
    if (r.paths && !r.paths.some((p) => f.path === p || f.path.startsWith(`${p}/`))) return false;
    if (r.ip && !(r.ip[0] === '10.0.0.0/8' ? f.ip.startsWith('10.') : f.ip.startsWith('192.168.')))
      return false;
    return true;
  }

  test('allow exactly when no deny rule holds and some allow rule holds', () => {
    fc.assert(
      fc.property(spec, requestFacts, (s, f) => {
        const policy = compilePolicy(s, testCompileContext());
        const input: PolicyInput = {
          identity: { sub: 'u', email: `u@${f.domain}`, groups: f.groups, claims: {} },
          request: {
            method: f.method,
            path: f.path,
            segments: f.path.split('/').filter(Boolean),
            ip: f.ip,
          },
        };
        const expectedAllow =
          !s.deny.some((r) => oracleRuleHolds(r, f)) && s.allow.some((r) => oracleRuleHolds(r, f));
        const decision = evaluatePolicy(policy, input, 0);
        expect(decision.effect === 'allow').toBe(expectedAllow);
        // Tracing never changes the answer.
        expect(evaluatePolicy(policy, input, 0, [])).toEqual(decision);
      }),
      { numRuns: 3000 },
    );
  });

  test('nothing is allowed when no allow rule holds, whatever else is true', () => {
    fc.assert(
      fc.property(spec, requestFacts, (s, f) => {
        fc.pre(!s.allow.some((r) => oracleRuleHolds(r, f)));
        const policy = compilePolicy(s, testCompileContext());
        const input: PolicyInput = {
          identity: { sub: 'u', email: `u@${f.domain}`, groups: f.groups, claims: {} },
          request: {
            method: f.method,
            path: f.path,
            segments: f.path.split('/').filter(Boolean),
            ip: f.ip,
          },
        };
        expect(evaluatePolicy(policy, input, 0).effect).not.toBe('allow');
      }),
      { numRuns: 2000 },
    );
  });
});
