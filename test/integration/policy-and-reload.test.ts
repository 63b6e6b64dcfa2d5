import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { eventually } from '../harness/eventually.js';
import { TestClient } from '../harness/http-client.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

const routes = (upstream: string, extra = '') => `version: 1
routes:
  - name: wiki
    host: wiki.test
    upstream: ${upstream}
    policy:
      allow:
        - email_domains: [corp.example]
    rules:
      - path: /admin
        methods: [POST, DELETE]
        policy:
          allow:
            - groups: [wiki-admins]
  - name: hr
    host: hr.test
    upstream: ${upstream}
    mode: audit
    policy:
      allow:
        - groups: [hr]
  - name: status
    host: status.test
    upstream: ${upstream}
    public: true
${extra}`;

let stack: Stack;
let alice: TestClient;

beforeAll(async () => {
  stack = await startStack({ routes: (upstream) => routes(upstream) });
  alice = new TestClient();
  expect((await stack.login(alice, 'alice', stack.url('wiki.test', '/'))).status).toBe(200);
  expect((await stack.login(alice, 'alice', stack.url('hr.test', '/'))).status).toBe(200);
});

afterAll(() => stack.close());

async function metricDelta(
  name: string,
  labels: Record<string, string>,
  action: () => Promise<unknown>,
): Promise<number> {
  const before = sampleValue(await stack.metrics(), name, labels);
  await action();
  return eventually(async () => {
    const delta = sampleValue(await stack.metrics(), name, labels) - before;
    return delta > 0 ? delta : undefined;
  });
}

describe('sub-rules in the running gateway', () => {
  test('a matching sub-rule replaces the route policy; others keep it', async () => {
    expect((await alice.request(stack.url('wiki.test', '/admin/page'))).status).toBe(200);
    const post = await alice.request(stack.url('wiki.test', '/admin/page'), {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    expect(post.status).toBe(403);
    expect(post.json()).toMatchObject({ reason: 'deny:no_rule_matched' });
    expect(
      await stack.auditLine((l) => l.path === '/admin/page' && l.method === 'POST'),
    ).toMatchObject({ decision: 'deny', status: 403 });
    expect(
      (await alice.request(stack.url('wiki.test', '/public/page'), { method: 'POST' })).status,
    ).toBe(200);
  });

  test('path tricks do not escape the sub-rule', async () => {
    for (const path of ['/x/../admin/page', '/admin;v=1/page', '//admin/page', '/%61dmin/page']) {
      expect((await alice.request(stack.url('wiki.test', path), { method: 'DELETE' })).status).toBe(
        403,
      );
    }
  });
});

describe('audit mode', () => {
  test('a would-be denial goes through, is audited as audit_deny and counted', async () => {
    let reply: Awaited<ReturnType<TestClient['request']>> | undefined;
    const delta = await metricDelta(
      'ztna_requests_total',
      { route: 'hr', decision: 'audit_deny', code: '200' },
      async () => {
        reply = await alice.request(stack.url('hr.test', '/payroll'));
      },
    );
    expect(reply!.status).toBe(200);
    expect(delta).toBe(1);
    expect(stack.upstream.last().headers['x-forwarded-user']).toBe('alice');
    expect(await stack.auditLine((l) => l.path === '/payroll')).toMatchObject({
      decision: 'audit_deny',
      mode: 'audit',
      reason: 'deny:no_rule_matched',
      status: 200,
    });
    expect(
      sampleValue(await stack.metrics(), 'ztna_policy_denials_total', {
        route: 'hr',
        reason: 'deny:no_rule_matched',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  test('audit mode never skips authentication', async () => {
    expect((await new TestClient().request(stack.url('hr.test', '/payroll'))).status).toBe(401);
  });
});

describe('hot reload', () => {
  const write = (extra: string) => writeFile(stack.routesFile, routes(stack.upstream.url, extra));
  const newRoute = (name: string) => `  - name: ${name}
    host: ${name}.test
    upstream: __UPSTREAM__
    public: true
`;
  const withUpstream = (text: string) => text.replaceAll('__UPSTREAM__', stack.upstream.url);
  const status = async (host: string) =>
    (await new TestClient().request(stack.url(host, '/'))).status;

  test('an added route takes effect without a restart, and is counted', async () => {
    expect(await status('added.test')).toBe(404);
    const delta = await metricDelta('ztna_config_reloads_total', { result: 'success' }, () =>
      write(withUpstream(newRoute('added'))),
    );
    expect(delta).toBeGreaterThanOrEqual(1);
    await eventually(async () => ((await status('added.test')) === 200 ? true : undefined));
    expect(await stack.metrics()).toMatch(/ztna_config_info\{hash="[0-9a-f]{12}",routes="4"\} 1/);
  });

  test('a broken file never takes effect: the last good version serves, the error has file:line:col', async () => {
    const delta = await metricDelta('ztna_config_reloads_total', { result: 'failure' }, () =>
      writeFile(stack.routesFile, 'version: 1\nroutes:\n  - name: wiki\n    hots: wiki.test\n'),
    );
    expect(delta).toBe(1);
    const logged = await eventually(() =>
      stack.logLines.findLast(
        (l) => typeof l.config === 'string' && (l.config as string).includes('did you mean "host"'),
      ),
    );
    expect(logged.config).toBe(
      `${stack.routesFile}:4:5: route "wiki": unknown key "hots" (hint: did you mean "host"?)`,
    );
    expect(await status('added.test')).toBe(200);
    expect(await status('status.test')).toBe(200);
  });

  test('fixing the file takes effect again', async () => {
    await write(withUpstream(newRoute('fixed')));
    await eventually(async () => ((await status('fixed.test')) === 200 ? true : undefined));
    expect(await status('added.test')).toBe(404);
  });

  test('an editor that saves by rename (vim) still triggers a reload', async () => {
    const temp = join(dirname(stack.routesFile), `.${basename(stack.routesFile)}.swp`);
    await writeFile(temp, routes(stack.upstream.url, withUpstream(newRoute('renamed'))));
    await rename(temp, stack.routesFile);
    await eventually(async () => ((await status('renamed.test')) === 200 ? true : undefined));
  });

  test('SIGHUP (reload now) with an unchanged file changes nothing', async () => {
    expect(await stack.gateway.reload('signal')).toBe('unchanged');
    expect(await status('renamed.test')).toBe(200);
  });

  test('a request in flight finishes on the version it started with', async () => {
    const slow = alice.request(stack.url('wiki.test', '/slow?ms=800'));
    await new Promise((r) => setTimeout(r, 150));
    // The new version sends wiki nowhere: only the old table can still serve the slow request.
    await writeFile(
      stack.routesFile,
      withUpstream(
        `version: 1\nroutes:\n  - name: status\n    host: status.test\n    upstream: __UPSTREAM__\n    public: true\n`,
      ),
    );
    await eventually(async () =>
      (await alice.request(stack.url('wiki.test', '/after'))).status === 404 ? true : undefined,
    );
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('slow');
  });
});

describe('hot reload through a Kubernetes-style ConfigMap symlink swap', () => {
  let k8s: Stack;
  beforeAll(async () => {
    k8s = await startStack({ routes: (upstream) => routes(upstream) });
  });
  afterAll(() => k8s.close());

  test('swapping the ..data symlink reloads', async () => {
    // Kubernetes mounts: routes.yaml -> ..data/routes.yaml, ..data -> ..2026_v1; an update
    // writes ..2026_v2, points ..data_tmp at it and renames ..data_tmp over ..data.
    const dir = dirname(k8s.routesFile);
    const file = (extra: string) =>
      routes(k8s.upstream.url, extra.replaceAll('__UPSTREAM__', k8s.upstream.url));
    await mkdir(join(dir, '..2026_v1'));
    await writeFile(join(dir, '..2026_v1', 'routes.yaml'), file(''));
    await symlink('..2026_v1', join(dir, '..data'));
    await rename(k8s.routesFile, join(dir, 'old-routes.yaml'));
    await symlink('..data/routes.yaml', k8s.routesFile);

    await mkdir(join(dir, '..2026_v2'));
    await writeFile(
      join(dir, '..2026_v2', 'routes.yaml'),
      file(
        `  - name: swapped\n    host: swapped.test\n    upstream: __UPSTREAM__\n    public: true\n`,
      ),
    );
    await symlink('..2026_v2', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));

    await eventually(
      async () =>
        (await new TestClient().request(k8s.url('swapped.test', '/'))).status === 200
          ? true
          : undefined,
      3000,
    );
  });
});
