import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createLoggers } from '../../src/audit/loggers.js';
import { startGateway } from '../../src/gateway/start.js';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfiguration } from '../../src/config/load-configuration.js';
import { startIdp } from '../../src/demo/idp.js';
import { eventually } from '../harness/eventually.js';
import { TestClient } from '../harness/http-client.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';
import { TEST_USERS } from '../harness/users.js';

const ADMIN_TOKEN = randomBytes(24).toString('hex');
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    gatewayExtra: 'admin_token_env: TEST_ADMIN_TOKEN',
    env: { TEST_ADMIN_TOKEN: ADMIN_TOKEN },
    routes: (upstream) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { groups: [engineering] } ] }
  - name: down
    host: down.test
    upstream: http://127.0.0.1:1
    policy: { allow: [ { authenticated: true } ] }
`,
  });
});
afterAll(() => stack.close());

/** `token: null` sends none (undefined would take the default). */
const admin = (path: string, token: string | null = ADMIN_TOKEN, method = 'GET') =>
  new TestClient().request(stack.adminUrl(path), {
    method,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });

describe('the admin listener', () => {
  test('metrics and the admin API require the admin token when one is configured', async () => {
    for (const path of ['/metrics', '/admin/sessions?user=alice', '/admin/unknown']) {
      expect((await admin(path, null)).status).toBe(401);
      expect((await admin(path, 'wrong-token')).status).toBe(401);
      expect((await admin(path)).status).not.toBe(401);
    }
    expect((await admin('/admin/sessions?user=alice', null, 'DELETE')).status).toBe(401);
    expect((await admin('/metrics', null)).headers['www-authenticate']).toBe(
      'Bearer realm="ztna-admin"',
    );
  });

  test('Kubernetes probes need no token: /healthz and /readyz answer with the status only', async () => {
    const health = await admin('/healthz', null);
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await eventually(async () => {
      const reply = await admin('/readyz', null);
      return reply.status === 200 ? reply : undefined;
    }, 8000);
    expect(ready.json()).toEqual({ status: 'ok' });
    // With the token: the parts are listed (none failing).
    expect((await admin('/readyz')).json()).toEqual({ status: 'ok', failing: [] });
  });

  test('/metrics has every SPEC metric and Node.js process metrics', async () => {
    const text = (await admin('/metrics')).text;
    for (const name of [
      'ztna_requests_total',
      'ztna_request_duration_seconds',
      'ztna_upstream_duration_seconds',
      'ztna_upstream_errors_total',
      'ztna_policy_denials_total',
      'ztna_auth_events_total',
      'ztna_posture_checks_total',
      'ztna_credential_age_seconds',
      'ztna_sessions_active',
      'ztna_config_reloads_total',
      'ztna_config_info',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  test('the proxy listener never serves the gateway’s own metrics or health', async () => {
    const alice = new TestClient();
    await stack.login(alice, 'alice', stack.url('app.test', '/'));
    const proxied = await alice.request(stack.url('app.test', '/metrics'));
    expect(proxied.headers['x-upstream']).toBe('yes');
    expect(proxied.text).not.toContain('ztna_requests_total');
    expect((await new TestClient().request(stack.url('127.0.0.1', '/metrics'))).status).toBe(404);
    expect((await new TestClient().request(stack.url('app.test', '/healthz'))).status).toBe(401);
  });
});

describe('counting', () => {
  test('a scripted set of requests moves each counter by exactly what happened', async () => {
    const before = await (await admin('/metrics')).text;
    const alice = new TestClient();
    await stack.login(alice, 'alice', stack.url('app.test', '/start'));
    await alice.request(stack.url('app.test', '/one'));
    await alice.request(stack.url('app.test', '/two'));
    const bob = new TestClient();
    await stack.login(bob, 'bob', stack.url('app.test', '/'));
    await new TestClient().request(stack.url('nowhere.test', '/'));
    await new TestClient().request(stack.url('app.test', '/api'), {
      headers: { accept: 'application/json' },
    });
    await stack.login(alice, 'alice', stack.url('down.test', '/'));

    const delta = async (name: string, labels: Record<string, string>) =>
      sampleValue(await (await admin('/metrics')).text, name, labels) -
      sampleValue(before, name, labels);
    // Recording happens when each response closes: wait for the last one.
    await eventually(async () =>
      (await delta('ztna_upstream_errors_total', { route: 'down', kind: 'connect' })) === 1
        ? true
        : undefined,
    );
    expect(
      await delta('ztna_requests_total', { route: 'app', decision: 'allow', code: '200' }),
    ).toBe(3);
    expect(
      await delta('ztna_requests_total', { route: 'app', decision: 'deny', code: '403' }),
    ).toBe(1);
    expect(
      await delta('ztna_requests_total', { route: '(none)', decision: 'deny', code: '404' }),
    ).toBe(1);
    expect(
      await delta('ztna_requests_total', { route: 'app', decision: 'login', code: '401' }),
    ).toBe(1);
    expect(
      await delta('ztna_requests_total', { route: 'down', decision: 'allow', code: '502' }),
    ).toBe(1);
    expect(
      await delta('ztna_policy_denials_total', { route: 'app', reason: 'deny:no_rule_matched' }),
    ).toBe(1);
    expect(await delta('ztna_auth_events_total', { event: 'login_ok' })).toBe(3);
    expect(await delta('ztna_upstream_errors_total', { route: 'down', kind: 'connect' })).toBe(1);
  });
});

describe('the audit log', () => {
  test('one line per decision with every SPEC field, null where it does not apply', async () => {
    const alice = new TestClient();
    await stack.login(alice, 'alice', stack.url('app.test', '/'));
    await alice.request(stack.url('app.test', '/audited?secret=q'), { method: 'POST', body: 'x' });
    const line = await stack.auditLine((l) => l.path === '/audited');
    expect(Object.keys(line).sort()).toEqual(
      [
        'auth',
        'client_ip',
        'decision',
        'device_id',
        'duration_ms',
        'email',
        'groups',
        'host',
        'level',
        'method',
        'mode',
        'path',
        'posture',
        'reason',
        'request_id',
        'route',
        'status',
        'sub',
        'time',
        'type',
      ].sort(),
    );
    expect(line).toMatchObject({
      type: 'audit',
      route: 'app',
      method: 'POST',
      host: 'app.test',
      path: '/audited',
      client_ip: '127.0.0.1',
      sub: 'alice',
      email: 'alice@corp.example',
      groups: ['engineering'],
      auth: 'session',
      device_id: null,
      posture: null,
      decision: 'allow',
      mode: 'enforce',
      reason: 'allow:rule[0]',
      status: 200,
    });
    expect(typeof line.duration_ms).toBe('number');
    expect(new Date(line.time as string).toISOString()).toBe(line.time);

    const anonymous = await new TestClient().request(stack.url('nowhere.test', '/x'));
    const refused = await stack.auditLine(
      (l) => l.request_id === anonymous.text.match(/[0-9a-f-]{36}/)?.[0],
    );
    expect(refused).toMatchObject({
      route: '(none)',
      decision: 'deny',
      reason: 'no_route',
      status: 404,
      sub: null,
      auth: null,
    });
  });

  test('operational lines are told apart from audit lines', async () => {
    expect(stack.logLines.some((l) => l.type === 'app' && l.msg === 'gateway listening')).toBe(
      true,
    );
    expect(stack.logLines.every((l) => l.type === 'app' || l.type === 'audit')).toBe(true);
  });

  test('no token, cookie, code or secret ever reaches the log', async () => {
    const alice = new TestClient();
    await stack.login(alice, 'alice', stack.url('app.test', '/'));
    const cookie = (await alice.jar.getCookies(stack.url('app.test', '/'))).find(
      (c) => c.key === 'ztna_session',
    )!.value;
    await alice.request(stack.url('app.test', '/with-auth'), {
      headers: {
        authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
        'x-device-posture': 'eyJhbGciOiJub25lIn0.e30.',
      },
    });
    await eventually(() => stack.audit().find((l) => l.path === '/with-auth'));
    const log = stack.rawLog();
    for (const secret of [
      stack.secrets.TEST_CLIENT_SECRET!,
      stack.secrets.TEST_SESSION_SECRET!,
      ADMIN_TOKEN,
      cookie,
      decodeURIComponent(cookie),
      'pw-alice',
      'eyJ',
    ]) {
      expect(log).not.toContain(secret);
    }
    expect(log).not.toMatch(/[?&]code=/);
  });
});

describe('request ids and trace context', () => {
  test('a well-formed X-Request-Id is kept end to end; anything else is replaced', async () => {
    const alice = new TestClient();
    await stack.login(alice, 'alice', stack.url('app.test', '/'));
    await alice.request(stack.url('app.test', '/traced'), {
      headers: { 'x-request-id': 'req-2026.11.23:abc' },
    });
    expect(stack.upstream.last().headers['x-request-id']).toBe('req-2026.11.23:abc');
    expect(await stack.auditLine((l) => l.path === '/traced')).toMatchObject({
      request_id: 'req-2026.11.23:abc',
    });
    for (const bad of ['short', 'has spaces in it', 'x'.repeat(200), 'inject\\"quote"']) {
      await alice.request(stack.url('app.test', '/retraced'), { headers: { 'x-request-id': bad } });
      expect(stack.upstream.last().headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    const denied = await new TestClient().request(stack.url('nowhere.test', '/'), {
      headers: { 'x-request-id': 'req-shown-on-the-page', accept: 'text/html' },
    });
    expect(denied.text).toContain('req-shown-on-the-page');
  });

  test('traceparent and tracestate pass through unchanged', async () => {
    const alice = new TestClient();
    await stack.login(alice, 'alice', stack.url('app.test', '/'));
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await alice.request(stack.url('app.test', '/spans'), {
      headers: { traceparent, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' },
    });
    expect(stack.upstream.last().headers).toMatchObject({
      traceparent,
      tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    });
  });
});

/** A port nothing listens on: an IdP that is down. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A gateway without a stack around it: its IdP at `idpPort`, its log lines collected. */
async function startBareGateway(options: {
  idpPort: number;
  adminListen?: string;
  adminToken?: string;
}) {
  const dir = await mkdtemp(join(tmpdir(), 'ztna-ready-'));
  await writeFile(
    join(dir, 'routes.yaml'),
    'version: 1\nroutes:\n  - name: s\n    host: s.test\n    upstream: http://127.0.0.1:1\n    public: true\n',
  );
  await writeFile(
    join(dir, 'gateway.yaml'),
    `listen: "127.0.0.1:0"\nadmin_listen: "${options.adminListen ?? '127.0.0.1:0'}"\nroutes_file: routes.yaml\nidp:\n  issuer: http://127.0.0.1:${options.idpPort}\n  client_id: c\n  client_secret_env: S\nsession:\n  secret_env: T\n${options.adminToken === undefined ? '' : 'admin_token_env: A\n'}`,
  );
  const configuration = await loadConfiguration(join(dir, 'gateway.yaml'), undefined, {
    S: 'secret',
    T: 'x'.repeat(40),
    ...(options.adminToken !== undefined && { A: options.adminToken }),
  });
  if (!configuration.ok) throw new Error(configuration.issues.map(formatIssue).join('\n'));
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const gateway = await startGateway({
    settings: configuration.settings,
    table: configuration.table,
    loggers: createLoggers('info', sink),
    drainTimeoutMs: 500,
  });
  return {
    gateway,
    lines,
    admin: (path: string, token?: string) =>
      new TestClient().request(`http://127.0.0.1:${gateway.adminAddress.port}${path}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      }),
    async close() {
      await gateway.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('readiness', () => {
  test('not ready while the IdP is unreachable at start; ready once discovery succeeds', async () => {
    const idpPort = await closedPort();
    const bare = await startBareGateway({ idpPort });
    const readyz = async () => {
      const reply = await bare.admin('/readyz');
      return { ...reply.json(), status: reply.status };
    };
    try {
      // No admin token configured: everyone is the operator and sees which part fails.
      expect(await readyz()).toMatchObject({ status: 503, failing: ['idp'] });
      const idp = await startIdp(TEST_USERS, { port: idpPort });
      await idp.configure([]);
      await eventually(async () => ((await readyz()).status === 200 ? true : undefined), 8000);
      await idp.close();
    } finally {
      await bare.close();
    }
  }, 15_000);

  test('with an admin token, probes without it get the status only; the failing part needs the token', async () => {
    const bare = await startBareGateway({ idpPort: await closedPort(), adminToken: ADMIN_TOKEN });
    try {
      const probe = await bare.admin('/readyz');
      expect(probe.status).toBe(503);
      expect(probe.json()).toEqual({ status: 'unavailable' });
      const wrong = await bare.admin('/readyz', 'not-the-token');
      expect(wrong.json()).toEqual({ status: 'unavailable' });
      const operator = await bare.admin('/readyz', ADMIN_TOKEN);
      expect(operator.status).toBe(503);
      expect(operator.json()).toEqual({ status: 'unavailable', failing: ['idp'] });
      expect((await bare.admin('/healthz')).json()).toEqual({ status: 'ok' });
    } finally {
      await bare.close();
    }
  }, 15_000);
});

describe('an admin listener open to the network', () => {
  const warning = (lines: Record<string, unknown>[]) =>
    lines.find((l) => l.level === 'warn' && String(l.msg).includes('admin token'));

  test('without a token: a warning at start names the risk and the fix', async () => {
    const bare = await startBareGateway({ idpPort: await closedPort(), adminListen: '0.0.0.0:0' });
    try {
      expect(warning(bare.lines)).toBeDefined();
      expect(String(warning(bare.lines)!.msg)).toContain('admin_token_env');
    } finally {
      await bare.close();
    }
  });

  test('with a token, or on loopback, no warning', async () => {
    for (const options of [
      { adminListen: '0.0.0.0:0', adminToken: ADMIN_TOKEN },
      { adminListen: '127.0.0.1:0' },
      { adminListen: '[::1]:0' },
    ]) {
      const bare = await startBareGateway({ idpPort: await closedPort(), ...options });
      try {
        expect({ options, warned: warning(bare.lines) !== undefined }).toEqual({
          options,
          warned: false,
        });
      } finally {
        await bare.close();
      }
    }
  });
});
