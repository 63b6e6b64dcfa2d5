import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runCli } from '../../src/cli/index.js';
import { jsonSchemaOf } from '../../src/cli/schema.js';

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await runCli(argv, {
    stdout: (l) => out.push(l),
    stderr: (l) => out.push(l),
    env: {},
  });
  return { code, out: out.join('\n') };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-tools-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ztna-gateway test', () => {
  test('the shipped routes.test.yaml passes against the shipped routes.yaml', async () => {
    const result = await cli(['test']);
    expect(result.out).not.toContain('FAIL');
    expect(result.out).toMatch(/\n(\d+) passed, 0 failed$/);
    expect(Number(/(\d+) passed/.exec(result.out)![1])).toBeGreaterThanOrEqual(20);
    expect(result.code).toBe(0);
  });

  test('a failing case shows what was expected, what came, and the trace; exit 1', async () => {
    const file = join(dir, 'failing.test.yaml');
    await writeFile(
      file,
      `cases:
  - name: bob reads the wiki
    request: { url: "https://wiki.corp.example/" }
    identity: { email: bob@corp.example, groups: [sales] }
    expect: allow
  - name: the status page is public
    request: { url: "https://status.corp.example/" }
    expect: allow
`,
    );
    const result = await cli(['test', '--routes', 'routes.yaml', file]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('FAIL  bob reads the wiki');
    expect(result.out).toContain('expected allow, got deny (deny:no_rule_matched)');
    expect(result.out).toMatch(
      /allow\[0\]:\n\s+FAIL {2}groups include one of \[engineering, support\]/,
    );
    expect(result.out).toContain('ok    the status page is public');
    expect(result.out.split('\n').at(-1)).toBe('1 passed, 1 failed');
  });

  test('an invalid test file is reported with line and column', async () => {
    const file = join(dir, 'broken.test.yaml');
    await writeFile(
      file,
      'cases:\n  - name: x\n    request: { url: "https://a/" }\n    expect: allwo\n',
    );
    const result = await cli(['test', file]);
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      `${file}:4:13: case "x": expect must be one of allow, deny, step_up, got a string ("allwo") (hint: did you mean "allow"?)`,
    );
  });
});

describe('ztna-gateway explain', () => {
  test('names the route, the sub-rule chosen, each condition and the decision; exit 1 on deny', async () => {
    const result = await cli([
      'explain',
      '--routes',
      'routes.yaml',
      '--url',
      'https://wiki.corp.example/public/../admin/settings',
      '--method',
      'post',
      '--user',
      'bob@corp.example',
      '--groups',
      'sales',
    ]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('canonical wiki.corp.example /admin/settings');
    expect(result.out).toContain('route     wiki (wiki.corp.example) → http://10.0.0.12:8080/');
    expect(result.out).toContain(
      'policy    rules[0] (replaces the route policy for this path/method)',
    );
    expect(result.out).toContain('FAIL  groups include one of [wiki-admins]');
    expect(result.out).toContain('decision  deny (deny:no_rule_matched)');
  });

  test('exit 0 when allowed; posture from a file; audit mode is said', async () => {
    const posture = join(dir, 'laptop.json');
    await writeFile(
      posture,
      JSON.stringify({
        managed: true,
        os: 'macos',
        os_version: '14.5',
        disk_encrypted: true,
        edr_running: true,
        age: '1m',
      }),
    );
    const allowed = await cli([
      'explain',
      '--url',
      'https://wiki.corp.example/x',
      '--user',
      'alice@corp.example',
      '--groups',
      'engineering',
      '--posture',
      posture,
    ]);
    expect(allowed.out).toContain('decision  allow (allow:rule[0], by allow[0])');
    expect(allowed.code).toBe(0);
    const audit = await cli([
      'explain',
      '--url',
      'https://hr.corp.example/',
      '--user',
      'bob@corp.example',
      '--claim',
      'department=sales',
    ]);
    expect(audit.out).toContain('[audit mode]');
    expect(audit.out).toContain('route in audit mode: logged as audit_deny and let through');
  });

  test('claims take JSON values; --at and --auth-age drive time conditions', async () => {
    const night = await cli([
      'explain',
      '--url',
      'https://grafana.corp.example/',
      '--user',
      'nina@corp.example',
      '--groups',
      'noc',
      '--at',
      '2026-11-23T23:00:00+01:00',
    ]);
    expect(night.out).toContain(
      'FAIL  time on mon, tue, wed, thu, fri between 07:00-19:00 Europe/Berlin',
    );
    expect(night.code).toBe(1);
    const day = await cli([
      'explain',
      '--url',
      'https://grafana.corp.example/',
      '--user',
      'nina@corp.example',
      '--groups',
      'noc',
      '--at',
      '2026-11-23T09:00:00+01:00',
    ]);
    expect(day.code).toBe(0);
  });

  test('a refused path and an unknown host are explained', async () => {
    const refused = await cli([
      'explain',
      '--url',
      'https://wiki.corp.example/a%2fb',
      '--user',
      'a@corp.example',
    ]);
    expect(refused.out).toContain('refused   400 before any policy: encoded_slash');
    const unknown = await cli([
      'explain',
      '--url',
      'https://nowhere.example/',
      '--user',
      'a@corp.example',
    ]);
    expect(unknown.out).toContain('route     none (404)');
    expect(unknown.out).toContain('decision  deny (deny:no_route)');
  });

  test('a double-encoded path is refused as serve refuses it (SPEC §7)', async () => {
    const refused = await cli([
      'explain',
      '--url',
      'https://wiki.corp.example/public/..%252Fadmin',
      '--user',
      'cto@corp.example',
    ]);
    expect(refused.out).toContain('refused   400 before any policy: double_encoding');
    expect(refused.out).toContain('decision  deny (deny:bad_request)');
  });

  test('an address serve could not tell is unknown: no ip allow rule, every ip deny rule', async () => {
    for (const ip of ['unknown', '::FFFF:203.0.113.9']) {
      const result = await cli([
        'explain',
        '--url',
        'https://wiki.corp.example/page',
        '--user',
        'cto@corp.example',
        '--ip',
        ip,
      ]);
      expect(result.out).toContain('decision  deny (deny:ip, by deny[0])');
    }
  });

  test('a session bound to a device needs that device’s evidence (--session-device)', async () => {
    const laptop = (deviceId: string) => {
      const file = join(dir, `${deviceId}.json`);
      return writeFile(
        file,
        JSON.stringify({
          device_id: deviceId,
          managed: true,
          os: 'macos',
          os_version: '14.5',
          disk_encrypted: true,
          edr_running: true,
          age: '1m',
        }),
      ).then(() => file);
    };
    const as = (...rest: string[]) =>
      cli([
        'explain',
        ...['--url', 'https://wiki.corp.example/x', '--user', 'alice@corp.example'],
        ...['--groups', 'engineering', '--session-device', 'laptop-1', ...rest],
      ]);
    const own = await as('--posture', await laptop('laptop-1'));
    expect(own.out).toContain('session   bound to device laptop-1');
    expect(own.out).toContain('decision  allow (allow:rule[0], by allow[0])');
    const missing = await as();
    expect(missing.out).toContain('decision  deny (deny:device_missing)');
    expect(missing.code).toBe(1);
    const other = await as('--posture', await laptop('laptop-2'));
    expect(other.out).toContain('decision  deny (deny:device_changed)');
    // Without a bound device, no evidence is a posture denial, as before.
    const unbound = await cli([
      'explain',
      ...['--url', 'https://wiki.corp.example/x', '--user', 'alice@corp.example'],
      ...['--groups', 'engineering'],
    ]);
    expect(unbound.out).toContain('decision  deny (deny:posture.missing');
  });

  test('usage errors exit 2', async () => {
    expect((await cli(['explain'])).code).toBe(2);
    expect(
      (await cli(['explain', '--url', 'https://a/', '--session-device', 'laptop-1'])).code,
    ).toBe(2);
    expect((await cli(['explain', '--url', 'https://a/', '--at', 'yesterday'])).code).toBe(2);
  });
});

describe('ztna-gateway schema', () => {
  test.each(['routes', 'gateway', 'tests'] as const)(
    'schemas/%s.schema.json is what the zod schema generates',
    (kind) => {
      // Regenerate with: node dist/main.js schema <kind> > schemas/<kind>.schema.json
      expect(readFileSync(`schemas/${kind}.schema.json`, 'utf8')).toBe(jsonSchemaOf(kind));
    },
  );

  test('prints the routes schema by default', async () => {
    const result = await cli(['schema']);
    expect(JSON.parse(result.out)).toMatchObject({
      title: 'ztna-gateway routes.yaml',
      $defs: { rule: { type: 'object' } },
    });
  });

  test('the example files point editors at the schemas', () => {
    expect(readFileSync('routes.yaml', 'utf8').split('\n')[0]).toBe(
      '# yaml-language-server: $schema=schemas/routes.schema.json',
    );
    expect(readFileSync('routes.test.yaml', 'utf8').split('\n')[0]).toBe(
      '# yaml-language-server: $schema=schemas/tests.schema.json',
    );
  });
});

describe('workload identities in explain and test (issue 12 item 5)', () => {
  const CHECKOUT = 'system:serviceaccount:prod:checkout';
  let routesFile: string;
  beforeAll(async () => {
    routesFile = join(dir, 'issuers-routes.yaml');
    await writeFile(
      routesFile,
      `version: 1
routes:
  - name: payments
    host: api.corp.example
    upstream: http://10.0.0.30:8443
    auth: [bearer]
    policy:
      allow:
        - issuers: [k8s-prod]
          subjects: ["${CHECKOUT}"]
  - name: admin
    host: admin.corp.example
    upstream: http://10.0.0.31:80
    auth: [session, bearer]
    policy: { allow: [ { groups: [admins] } ] }
`,
    );
  });

  test('test cases say whose token it is, and decide like serving', async () => {
    const file = join(dir, 'issuers.test.yaml');
    await writeFile(
      file,
      `cases:
  - name: the prod checkout token pays
    request: { url: "https://api.corp.example/charge" }
    identity: { sub: "${CHECKOUT}", issuer: k8s-prod }
    expect: allow
  - name: a dev token naming the prod service account does not
    request: { url: "https://api.corp.example/charge" }
    identity: { sub: "${CHECKOUT}", issuer: k8s-dev }
    expect: deny
    reason: deny:no_rule_matched
  - name: a workload with a groups claim is not in the group
    request: { url: "https://admin.corp.example/" }
    identity: { sub: cron, issuer: k8s-prod, groups: [admins], email: cto@corp.example }
    expect: deny
    reason: deny:no_rule_matched
`,
    );
    const result = await cli(['test', '--routes', routesFile, file]);
    expect(result.out.split('\n').at(-1)).toBe('3 passed, 0 failed');
    expect(result.code).toBe(0);
  });

  test('explain --issuer names the token issuer and traces the issuers condition', async () => {
    const allowed = await cli([
      'explain',
      '--routes',
      routesFile,
      '--url',
      'https://api.corp.example/charge',
      '--user',
      CHECKOUT,
      '--issuer',
      'k8s-prod',
    ]);
    expect(allowed.out).toContain(`workload ${CHECKOUT}, token from service_tokens entry k8s-prod`);
    expect(allowed.out).toContain('token issuer in [k8s-prod]');
    expect(allowed.code).toBe(0);
    const denied = await cli([
      'explain',
      '--routes',
      routesFile,
      '--url',
      'https://api.corp.example/charge',
      '--user',
      CHECKOUT,
      '--issuer',
      'k8s-dev',
    ]);
    expect(denied.code).toBe(1);
  });
});

describe('just-in-time grants in explain and test (issue 14)', () => {
  const ADMIN_POST = [
    'explain',
    ...['--url', 'https://wiki.corp.example/admin/settings', '--method', 'POST'],
    ...['--user', 'bob@corp.example', '--groups', 'sales'],
  ];

  test('a denial says which grant would change it, where to ask, who approves, for how long', async () => {
    const denied = await cli([...ADMIN_POST, '--mfa']);
    expect(denied.out).toContain('FAIL  holds an active grant wiki-admin');
    expect(denied.out).toContain('decision  deny (deny:no_rule_matched)');
    expect(denied.out).toContain(
      'grants    with grant wiki-admin (ask at the deny page; approvers: groups wiki-owners; up to 4h; a reason is required): allow by rules[0].allow[1]',
    );
    expect(denied.code).toBe(1);
    // The grant alone is not enough where its rule also needs MFA: said, not hidden.
    const noMfa = await cli(ADMIN_POST);
    expect(noMfa.out).toMatch(/with grant wiki-admin \(.*\): step_up \(step_up:mfa, by /);
  });

  test('--grant: the person holds it, and an allow that needs it says so', async () => {
    const allowed = await cli([...ADMIN_POST, '--mfa', '--grant', 'wiki-admin']);
    expect(allowed.out).toContain('session   holds grant wiki-admin');
    expect(allowed.out).toContain('pass  holds an active grant wiki-admin');
    expect(allowed.out).toContain('decision  allow (allow:rule[1], by rules[0].allow[1])');
    expect(allowed.out).toContain(
      'grants    allowed by grant wiki-admin; without it: deny (deny:no_rule_matched)',
    );
    expect(allowed.code).toBe(0);
    // A grant the route does not test changes nothing and is not credited.
    const reader = await cli([
      'explain',
      ...['--url', 'https://wiki.corp.example/page', '--user', 'bob@corp.example'],
      ...['--groups', 'sales', '--grant', 'wiki-admin'],
    ]);
    expect(reader.out).toContain('decision  deny (deny:no_rule_matched)');
    expect(reader.out).not.toContain('grants    ');
    expect(reader.code).toBe(1);
  });

  test('an allow that would happen anyway is not put down to the grant', async () => {
    const admin = await cli([
      'explain',
      ...['--url', 'https://wiki.corp.example/admin/settings', '--method', 'POST'],
      ...['--user', 'dana@corp.example', '--groups', 'wiki-admins', '--mfa'],
      ...['--grant', 'wiki-admin'],
    ]);
    expect(admin.out).toContain('decision  allow (allow:rule[0], by rules[0].allow[0])');
    expect(admin.out).not.toContain('allowed by grant');
  });

  test('--grant of an undeclared name, without a person, or for a workload is a usage error', async () => {
    const typo = await cli([...ADMIN_POST, '--grant', 'wiki-admn']);
    expect(typo.code).toBe(2);
    expect(typo.out).toContain(
      '--grant wiki-admn: no jit in the routes file declares this grant (declared: wiki-admin); did you mean "wiki-admin"?',
    );
    const anonymous = await cli([
      'explain',
      ...['--url', 'https://wiki.corp.example/admin', '--grant', 'wiki-admin'],
    ]);
    expect(anonymous.code).toBe(2);
    expect(anonymous.out).toContain('--grant needs --user');
    const workload = await cli([...ADMIN_POST, '--issuer', 'k8s-prod', '--grant', 'wiki-admin']);
    expect(workload.code).toBe(2);
    expect(workload.out).toContain('workloads never hold grants');
  });

  test('a grant offered elsewhere is said to be, and its limit reads in hours', async () => {
    const routesFile = join(dir, 'jit-routes.yaml');
    await writeFile(
      routesFile,
      `version: 1
routes:
  - name: ops
    host: ops.corp.example
    upstream: http://10.0.0.80:80
    jit: { grant: ops-admin, max_duration: 24h, approvers: { emails: [Alice@corp.example] } }
    policy: { allow: [ { groups: [sre] }, { grant: ops-admin } ] }
  - name: dashboards
    host: dash.corp.example
    upstream: http://10.0.0.81:80
    policy: { allow: [ { grant: ops-admin } ] }
  - name: billing
    host: billing.corp.example
    upstream: http://10.0.0.82:80
    mode: audit
    jit: { grant: billing-admin, max_duration: 90m, approvers: { groups: [finance] } }
    policy: { allow: [ { grant: billing-admin } ] }
`,
    );
    const explain = (url: string) =>
      cli(['explain', '--routes', routesFile, '--url', url, '--user', 'bob@corp.example']);
    const elsewhere = await explain('https://dash.corp.example/');
    expect(elsewhere.out).toContain(
      "with grant ops-admin (asked for where route ops's jit denies, or given by an admin; approvers: emails alice@corp.example; up to 24h): allow by allow[0]",
    );
    // An audit-mode route lets the request through: there is no deny page to ask on.
    const audit = await explain('https://billing.corp.example/');
    expect(audit.out).toContain(
      'with grant billing-admin (not offered while the route is in audit mode (nothing is denied), but an admin can give it; approvers: groups finance; up to 90m): allow by allow[0]',
    );
  });

  test('test cases hold grants; a failing case says which grant would change it', async () => {
    const file = join(dir, 'grants.test.yaml');
    await writeFile(
      file,
      `cases:
  - name: bob with the grant changes settings
    request: { method: POST, url: "https://wiki.corp.example/admin/settings" }
    identity: { email: bob@corp.example, mfa: true }
    grants: [wiki-admin]
    expect: allow
  - name: bob expects to get in without asking
    request: { method: POST, url: "https://wiki.corp.example/admin/settings" }
    identity: { email: bob@corp.example, mfa: true }
    expect: allow
`,
    );
    const result = await cli(['test', '--routes', 'routes.yaml', file]);
    expect(result.out).toContain('ok    bob with the grant changes settings');
    expect(result.out).toContain('FAIL  bob expects to get in without asking');
    expect(result.out).toContain(
      '      with grant wiki-admin (ask at the deny page; approvers: groups wiki-owners; up to 4h; a reason is required): allow by rules[0].allow[1]',
    );
    expect(result.out.split('\n').at(-1)).toBe('1 passed, 1 failed');
  });

  test('a test case naming an undeclared grant, or giving one to no person, is an error at its line', async () => {
    const file = join(dir, 'bad-grants.test.yaml');
    await writeFile(
      file,
      `cases:
  - name: bob with a typo
    request: { method: POST, url: "https://wiki.corp.example/admin/settings" }
    identity: { email: bob@corp.example, mfa: true }
    grants: [wiki-admn]
    expect: allow
  - name: nobody holds a grant
    request: { url: "https://wiki.corp.example/admin/settings" }
    grants: [wiki-admin]
    expect: deny
  - name: a workload holds no grant
    request: { url: "https://wiki.corp.example/admin/settings" }
    identity: { sub: cron, issuer: k8s-prod }
    grants: [wiki-admin]
    expect: deny
`,
    );
    const result = await cli(['test', '--routes', 'routes.yaml', file]);
    expect(result.code).toBe(1);
    expect(result.out.split('\n')).toEqual([
      `${file}:5:14: case "bob with a typo": grants[0] must name a grant that a jit of the routes file declares; "wiki-admn" is not one (declared: wiki-admin) (hint: did you mean "wiki-admin"?)`,
      `${file}:9:13: case "nobody holds a grant": grants needs an identity of a signed-in person: only people hold grants (hint: identity: { email: bob@corp.example })`,
      `${file}:14:13: case "a workload holds no grant": grants needs an identity of a signed-in person: only people hold grants, never workloads (hint: identity: { email: bob@corp.example })`,
      '0 passed, 0 failed (the files above must be fixed first)',
    ]);
  });
});
