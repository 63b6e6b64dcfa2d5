import { describe, expect, test } from '@jest/globals';
import { compilePolicy } from '../compile.js';
import type { RuleSpec } from '../compile.js';
import { evaluatePolicy } from '../evaluate.js';
import { testCompileContext } from '../test-context.js';
import type { PostureFacts } from '../../posture/facts.js';
import type { Identity, PolicyInput } from '../types.js';

interface Case {
  readonly identity?: Partial<Identity>;
  readonly method?: string;
  readonly path?: string;
  readonly ip?: string;
  readonly posture?: PostureFacts;
  readonly at?: string;
  /** Grant name → expiry (epoch ms), as the pipeline's step 4b reads them. */
  readonly grants?: Record<string, number>;
}

const NOW = Date.parse('2026-11-23T10:00:00Z');

/** Whether a single-condition allow rule lets this case in. */
function holds(rule: RuleSpec, c: Case, mfaAcrValues: string[] = []): boolean {
  const policy = compilePolicy({ allow: [rule] }, testCompileContext({}, mfaAcrValues));
  const path = c.path ?? '/';
  const input: PolicyInput = {
    identity: c.identity && { sub: 'u', claims: {}, ...c.identity },
    request: {
      method: c.method ?? 'GET',
      path,
      segments: path
        .split('/')
        .filter(Boolean)
        .map((s) => s.split(';')[0]!),
      ip: c.ip ?? '10.0.0.1',
    },
    posture: c.posture,
    grants: c.grants && new Map(Object.entries(c.grants)),
  };
  return (
    evaluatePolicy(policy, input, c.at === undefined ? NOW : Date.parse(c.at)).effect === 'allow'
  );
}

describe('subjects', () => {
  test.each([
    ['system:serviceaccount:prod:checkout', true],
    ['system:serviceaccount:prod:checkout2', false],
    ['SYSTEM:serviceaccount:prod:checkout', false],
  ])('%s → %s', (sub, expected) => {
    expect(
      holds({ subjects: ['system:serviceaccount:prod:checkout'] }, { identity: { sub } }),
    ).toBe(expected);
  });
});

describe('emails', () => {
  test.each([
    ['alice@corp.example', true],
    ['ALICE@CORP.EXAMPLE', true],
    ['alice@corp.example.evil', false],
    ['xalice@corp.example', false],
  ])('%s → %s', (email, expected) => {
    expect(
      holds({ emails: ['Alice@corp.example'] }, { identity: { email: email.toLowerCase() } }),
    ).toBe(expected);
  });
});

describe('claims', () => {
  const rule: RuleSpec = {
    claims: { department: ['sales', 'support'], 'org.level': 3, contractor: false },
  };
  test.each<[string, Record<string, unknown>, boolean]>([
    ['all match', { department: 'sales', org: { level: 3 }, contractor: false }, true],
    [
      'list claim containing a value',
      { department: ['eng', 'support'], org: { level: 3 }, contractor: false },
      true,
    ],
    ['one claim off', { department: 'eng', org: { level: 3 }, contractor: false }, false],
    [
      'number vs string is strict',
      { department: 'sales', org: { level: '3' }, contractor: false },
      false,
    ],
    ['missing claim never matches', { department: 'sales', contractor: false }, false],
    ['false is not missing', { department: 'sales', org: { level: 3 } }, false],
  ])('%s', (_name, claims, expected) => {
    expect(holds(rule, { identity: { claims } })).toBe(expected);
  });

  test('an exact claim name with dots wins over the nested path', () => {
    expect(
      holds(
        { claims: { 'https://corp.example/role': 'admin' } },
        { identity: { claims: { 'https://corp.example/role': 'admin' } } },
      ),
    ).toBe(true);
  });
});

describe('mfa', () => {
  test.each<[unknown, unknown, boolean]>([
    [['pwd'], undefined, false],
    [['pwd', 'otp'], undefined, true],
    [['pwd', 'mfa'], undefined, true],
    [['hwk'], undefined, true],
    [['pwd', 'kba'], undefined, false],
    ['mfa', undefined, false],
    [undefined, 'urn:corp:mfa', true],
    [undefined, 'urn:corp:pwd', false],
  ])('amr %p acr %p → %s', (amr, acr, expected) => {
    expect(holds({ mfa: true }, { identity: { claims: { amr, acr } } }, ['urn:corp:mfa'])).toBe(
      expected,
    );
  });
});

describe('auth_max_age', () => {
  const sec = (ms: number) => Math.floor(ms / 1000);
  test.each([
    ['just now', sec(NOW) - 5, true],
    ['exactly at the limit', sec(NOW) - 3600, true],
    ['a second too old', sec(NOW) - 3601, false],
    ['far in the future (clock trick)', sec(NOW) + 3600, false],
  ])('%s', (_name, authTime, expected) => {
    expect(
      holds({ auth_max_age: 3_600_000 }, { identity: { claims: { auth_time: authTime } } }),
    ).toBe(expected);
  });
  test('no auth_time never satisfies it', () => {
    expect(holds({ auth_max_age: 3_600_000 }, { identity: { claims: {} } })).toBe(false);
  });
});

describe('a workload token never passes a human sign-in condition', () => {
  const workload = { name: 'k8s-prod', issuer: 'https://kubernetes.default.svc' };
  const claims = { amr: ['mfa', 'hwk'], acr: 'urn:corp:mfa', auth_time: Math.floor(NOW / 1000) };
  test('mfa: its own amr/acr claims do not count', () => {
    expect(holds({ mfa: true }, { identity: { claims } }, ['urn:corp:mfa'])).toBe(true);
    expect(holds({ mfa: true }, { identity: { claims, workload } }, ['urn:corp:mfa'])).toBe(false);
  });
  test('auth_max_age: its own auth_time does not count', () => {
    expect(holds({ auth_max_age: 3_600_000 }, { identity: { claims } })).toBe(true);
    expect(holds({ auth_max_age: 3_600_000 }, { identity: { claims, workload } })).toBe(false);
  });
});

describe('grant (SPEC §13)', () => {
  const person = { email: 'bob@corp.example', claims: {} };
  const rule: RuleSpec = { grant: 'wiki-admin' };
  test('holds while the grant runs, up to the last millisecond before expiry', () => {
    expect(holds(rule, { identity: person, grants: { 'wiki-admin': NOW + 3_600_000 } })).toBe(true);
    expect(holds(rule, { identity: person, grants: { 'wiki-admin': NOW + 1 } })).toBe(true);
  });
  test('fails at the expiry and after it: judged per request, not by the sweep', () => {
    expect(holds(rule, { identity: person, grants: { 'wiki-admin': NOW } })).toBe(false);
    expect(holds(rule, { identity: person, grants: { 'wiki-admin': NOW - 1 } })).toBe(false);
    const grants = { 'wiki-admin': NOW + 60_000 };
    expect(
      holds(rule, { identity: person, grants, at: new Date(NOW + 59_999).toISOString() }),
    ).toBe(true);
    expect(
      holds(rule, { identity: person, grants, at: new Date(NOW + 60_000).toISOString() }),
    ).toBe(false);
  });
  test('another grant, or a name that merely resembles it, does not count', () => {
    for (const other of ['ci-deploy', 'wiki-admins', 'Wiki-Admin', 'wiki'])
      expect(holds(rule, { identity: person, grants: { [other]: NOW + 3_600_000 } })).toBe(false);
  });
  test('no grants at all (none held, or not read) never holds', () => {
    expect(holds(rule, { identity: person, grants: {} })).toBe(false);
    expect(holds(rule, { identity: person })).toBe(false);
    expect(holds(rule, { grants: { 'wiki-admin': NOW + 3_600_000 } })).toBe(false);
  });
  test('a workload never holds a grant, even when one is put before the policy', () => {
    const workload = { name: 'k8s-prod', issuer: 'https://kubernetes.default.svc' };
    expect(
      holds(rule, {
        identity: { sub: 'system:serviceaccount:prod:cron', claims: {}, workload },
        grants: { 'wiki-admin': NOW + 3_600_000 },
      }),
    ).toBe(false);
  });
});

describe('ip', () => {
  test.each([
    ['10.0.0.0', true],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['9.255.255.255', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['::ffff:10.1.2.3', true],
    ['2001:db8::1', true],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db9::', false],
    ['not-an-ip', false],
  ])('%s → %s', (ip, expected) => {
    expect(
      holds({ ip: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'] }, { identity: {}, ip }),
    ).toBe(expected);
  });
});

describe('ip with an unknown client address (fail closed both ways)', () => {
  /** The decision on a route that allows the office and denies a bad network. */
  function decide(ip: string) {
    const policy = compilePolicy(
      {
        allow: [{ ip: ['10.0.0.0/8'] }, { emails: ['alice@corp.example'] }],
        deny: [{ ip: ['203.0.113.0/24'] }],
      },
      testCompileContext({}),
    );
    const input: PolicyInput = {
      identity: { sub: 'alice', email: 'alice@corp.example', emailVerified: true, claims: {} },
      request: { method: 'GET', path: '/', segments: [], ip },
    };
    return evaluatePolicy(policy, input, NOW);
  }

  test.each(['unknown', '', 'not-an-ip', '203.0.113.9:443'])(
    '%s matches no allow ip and counts as inside a deny ip block',
    (ip) => {
      expect(holds({ ip: ['0.0.0.0/0', '::/0'] }, { identity: {}, ip })).toBe(false);
      expect(decide(ip)).toMatchObject({ effect: 'deny', reason: 'deny:ip', rule: 'deny[0]' });
    },
  );

  test('a known address outside the denied block is judged by the allow rules', () => {
    expect(decide('198.51.100.7')).toMatchObject({ effect: 'allow', reason: 'allow:rule[1]' });
    expect(decide('::ffff:203.0.113.9')).toMatchObject({ effect: 'deny', reason: 'deny:ip' });
    expect(decide('::ffff:cb00:7109')).toMatchObject({ effect: 'deny', reason: 'deny:ip' });
  });
});

describe('methods', () => {
  test.each([
    ['GET', true],
    ['HEAD', true],
    ['POST', false],
    ['get', false],
  ])('%s → %s', (method, expected) => {
    expect(holds({ methods: ['GET', 'HEAD'] }, { identity: {}, method })).toBe(expected);
  });
});

describe('paths', () => {
  test.each([
    ['/reports', true],
    ['/reports/2026/q4', true],
    ['/reports;v=1/x', true],
    ['/reportsx', false],
    ['/Reports', false],
    ['/', false],
  ])('%s → %s', (path, expected) => {
    expect(holds({ paths: ['/reports'] }, { identity: {}, path })).toBe(expected);
  });
});

describe('time', () => {
  const office = {
    days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const,
    between: '08:00-18:00',
    tz: 'Europe/Berlin',
  };
  test.each([
    // Winter (CET = UTC+1).
    ['Monday 07:59 CET', '2026-11-23T06:59:00Z', false],
    ['Monday 08:00 CET', '2026-11-23T07:00:00Z', true],
    ['Monday 17:59 CET', '2026-11-23T16:59:00Z', true],
    ['Monday 18:00 CET (end is exclusive)', '2026-11-23T17:00:00Z', false],
    ['Saturday noon', '2026-11-28T11:00:00Z', false],
    // Daylight saving starts 2026-03-29 (a Sunday); Monday 2026-03-30 is CEST = UTC+2.
    ['Friday before the switch, 08:30 CET', '2026-03-27T07:30:00Z', true],
    ['Friday before the switch, 07:30 CET', '2026-03-27T06:30:00Z', false],
    ['Monday after the switch, 08:30 CEST', '2026-03-30T06:30:00Z', true],
    ['Monday after the switch, 07:30 CEST', '2026-03-30T05:30:00Z', false],
    ['Monday after the switch, 17:30 CEST', '2026-03-30T15:30:00Z', true],
    ['Monday after the switch, 18:30 CEST', '2026-03-30T16:30:00Z', false],
  ])('%s → %s', (_name, at, expected) => {
    expect(holds({ time: office }, { identity: {}, at })).toBe(expected);
  });

  test.each([
    ['23:30 (after start)', '2026-11-23T22:30:00Z', true],
    ['05:59 (before end)', '2026-11-23T04:59:00Z', true],
    ['06:00 (end)', '2026-11-23T05:00:00Z', false],
    ['12:00', '2026-11-23T11:00:00Z', false],
  ])('overnight window 22:00-06:00 UTC+1: %s', (_name, at, expected) => {
    expect(
      holds({ time: { between: '22:00-06:00', tz: 'Europe/Berlin' } }, { identity: {}, at }),
    ).toBe(expected);
  });

  test('days alone, in the zone of the rule: Sunday 23:30 UTC is Monday in Tokyo', () => {
    expect(
      holds(
        { time: { days: ['mon'], tz: 'Asia/Tokyo' } },
        { identity: {}, at: '2026-11-22T23:30:00Z' },
      ),
    ).toBe(true);
    expect(
      holds({ time: { days: ['mon'], tz: 'UTC' } }, { identity: {}, at: '2026-11-22T23:30:00Z' }),
    ).toBe(false);
  });
});

describe('posture', () => {
  const facts: PostureFacts = {
    managed: true,
    os: 'macos',
    osVersion: '14.5',
    diskEncrypted: true,
    edrRunning: true,
    firewall: true,
    observedAt: NOW - 60_000,
  };
  const baseline = {
    managed: true,
    disk_encrypted: true,
    edr_running: true,
    min_os_version: { macos: '14.4', windows: '10.0.19045' },
    max_age: 15 * 60_000,
  } as const;
  test.each<[string, PostureFacts | undefined, string]>([
    ['compliant', facts, 'allow'],
    ['no evidence', undefined, 'deny:posture.missing'],
    ['stale evidence', { ...facts, observedAt: NOW - 16 * 60_000 }, 'deny:posture.max_age'],
    ['unmanaged', { ...facts, managed: false }, 'deny:posture.managed'],
    ['old macOS', { ...facts, osVersion: '14.3.9' }, 'deny:posture.min_os_version'],
    ['unreadable version', { ...facts, osVersion: 'Sonoma' }, 'deny:posture.min_os_version'],
    [
      'windows build above the minimum',
      { ...facts, os: 'windows', osVersion: '10.0.22631' },
      'allow',
    ],
    [
      'windows build 10.0.9999 is older than 10.0.19045',
      { ...facts, os: 'windows', osVersion: '10.0.9999' },
      'deny:posture.min_os_version',
    ],
    [
      'an OS without a known minimum',
      { ...facts, os: 'linux', osVersion: '6.8' },
      'deny:posture.os',
    ],
    ['disk not encrypted', { ...facts, diskEncrypted: false }, 'deny:posture.disk_encrypted'],
    ['EDR unknown', { ...facts, edrRunning: undefined }, 'deny:posture.edr_running'],
  ])('%s → %s', (_name, posture, expected) => {
    const policy = compilePolicy(
      { allow: [{ groups: ['eng'], posture: 'baseline' }] },
      testCompileContext({ baseline }),
    );
    const decision = evaluatePolicy(
      policy,
      {
        identity: { sub: 'u', groups: ['eng'], claims: {} },
        request: { method: 'GET', path: '/', segments: [], ip: '10.0.0.1' },
        posture,
      },
      NOW,
    );
    expect(decision.effect === 'allow' ? 'allow' : decision.reason).toBe(expected);
  });

  test('inline profiles work like named ones; the os allowlist applies', () => {
    expect(holds({ posture: { os: ['windows'] } }, { identity: {}, posture: facts })).toBe(false);
    expect(
      holds({ posture: { os: ['macos'], firewall: true } }, { identity: {}, posture: facts }),
    ).toBe(true);
  });

  test('a posture failure is only reported when the rest of the rule matches', () => {
    const policy = compilePolicy(
      { allow: [{ groups: ['eng'], posture: { managed: true } }] },
      testCompileContext(),
    );
    const input = {
      identity: { sub: 'u', groups: ['sales'], claims: {} },
      request: { method: 'GET', path: '/', segments: [], ip: '10.0.0.1' },
    };
    expect(evaluatePolicy(policy, input, NOW).reason).toBe('deny:no_rule_matched');
  });
});

describe('claim paths', () => {
  test.each<[string, Record<string, unknown>, boolean]>([
    ['kubernetes.io.namespace', { 'kubernetes.io': { namespace: 'prod' } }, true],
    ['kubernetes.io.namespace', { kubernetes: { io: { namespace: 'prod' } } }, true],
    ['realm_access.roles', { realm_access: { roles: ['x', 'prod'] } }, true],
    ['a.b', { a: 'prod' }, false],
    ['a.b', { a: ['prod'] }, false],
  ])('%s in %p → %s', (path, claims, expected) => {
    expect(holds({ claims: { [path]: 'prod' } }, { identity: { claims } })).toBe(expected);
  });
});
