import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { TestClient } from '../harness/http-client.js';
import { spawnCli } from '../harness/spawn.js';
import { startUpstream } from '../harness/upstream.js';
import type { Upstream } from '../harness/upstream.js';

const ENV = {
  ZTNA_CLIENT_SECRET: 'secret',
  ZTNA_SESSION_SECRET: 'a-long-enough-session-secret-for-tests-0123456789',
};

let dir: string;
let upstream: Upstream;

beforeAll(async () => {
  if (!existsSync('dist/main.js')) throw new Error('run `npm run build` first (npm test does)');
  dir = await mkdtemp(join(tmpdir(), 'ztna-cli-'));
  upstream = await startUpstream();
  await writeFile(
    join(dir, 'gateway.yaml'),
    `listen: "127.0.0.1:0"
admin_listen: "127.0.0.1:0"
routes_file: routes.yaml
idp:
  issuer: http://127.0.0.1:9
  client_id: gw
  client_secret_env: ZTNA_CLIENT_SECRET
session:
  secret_env: ZTNA_SESSION_SECRET
`,
  );
  await writeFile(
    join(dir, 'routes.yaml'),
    `version: 1\nroutes:\n  - name: status\n    host: status.test\n    upstream: ${upstream.url}\n    public: true\n`,
  );
  await writeFile(
    join(dir, 'broken.yaml'),
    'version: 1\nroutes:\n  - name: status\n    host: status.test\n    upstream: http://x:1\n    publik: true\n',
  );
});

afterAll(async () => {
  await upstream.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ztna-gateway check (the binary)', () => {
  test('reports a broken routes.yaml with line and column and exits 1', async () => {
    const run = spawnCli(
      ['check', '--config', join(dir, 'gateway.yaml'), '--routes', join(dir, 'broken.yaml')],
      ENV,
    );
    expect(await run.exited).toBe(1);
    expect(run.stdout()).toContain(
      `${join(dir, 'broken.yaml')}:6:5: route "status": unknown key "publik" (hint: did you mean "public"?)`,
    );
    expect(run.stderr()).toBe('1 error found\n');
  });

  test('takes options from ZTNA_* environment variables', async () => {
    const run = spawnCli(['check'], { ...ENV, ZTNA_CONFIG: join(dir, 'gateway.yaml') });
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toBe('ok: 1 routes, 0 warnings\n');
  });

  test('an unknown command or option is a usage error (exit 2)', async () => {
    const unknown = spawnCli(['frobnicate']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.stderr()).toContain('unknown command "frobnicate"');
    const badOption = spawnCli(['check', '--nope']);
    expect(await badOption.exited).toBe(2);
  });
});

describe('ztna-gateway serve (the binary)', () => {
  test('refuses to start on invalid config, with the same messages as check', async () => {
    const run = spawnCli(
      ['serve', '--config', join(dir, 'gateway.yaml'), '--routes', join(dir, 'broken.yaml')],
      ENV,
    );
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toContain('unknown key "publik"');
    expect(run.stderr()).toContain('refusing to start');
    expect(run.stderr()).not.toMatch(/\n\s+at /);
  });

  test('started with --expose-gc (as the image starts it), it collects spent buffers; without, it says it does not', async () => {
    for (const [nodeArgs, on] of [
      [['--expose-gc'], true],
      [[], false],
    ] as const) {
      const run = spawnCli(['serve', '--config', join(dir, 'gateway.yaml')], ENV, nodeArgs);
      const listening = await run.waitForLog((l) => l.msg === 'gateway listening');
      expect(listening.buffer_collection).toBe(on);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    }
  });

  test('SIGHUP re-reads routes.yaml and does not stop the gateway', async () => {
    const run = spawnCli(['serve', '--config', join(dir, 'gateway.yaml')], ENV);
    const listening = await run.waitForLog((l) => l.msg === 'gateway listening');
    run.child.kill('SIGHUP');
    expect(
      await run.waitForLog((l) => l.msg === 'routes reload' && l.trigger === 'signal'),
    ).toMatchObject({ result: 'unchanged' });
    const port = (listening.listen as { port: number }).port;
    expect((await new TestClient().request(`http://status.test:${port}/still-up`)).status).toBe(
      200,
    );
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  test('on SIGTERM it drains the request in flight, then exits 0', async () => {
    const run = spawnCli(['serve', '--config', join(dir, 'gateway.yaml')], ENV);
    const listening = await run.waitForLog((l) => l.msg === 'gateway listening');
    const port = (listening.listen as { port: number }).port;
    const inFlight = new TestClient().request(`http://status.test:${port}/slow?ms=700`);
    await new Promise((r) => setTimeout(r, 200));
    run.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    // Draining: the listener is closed to newcomers while the old request finishes.
    await expect(new TestClient().request(`http://status.test:${port}/late`)).rejects.toMatchObject(
      { code: 'ECONNREFUSED' },
    );
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('slow');
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('"msg":"stopped"');
  });

  test('audit lines are buffered, but none is lost on SIGTERM', async () => {
    const run = spawnCli(['serve', '--config', join(dir, 'gateway.yaml')], ENV);
    const listening = await run.waitForLog((l) => l.msg === 'gateway listening');
    const port = (listening.listen as { port: number }).port;
    const client = new TestClient();
    for (let i = 0; i < 40; i++) await client.request(`http://status.test:${port}/n/${i}`);
    // Straight away: these lines are still in the buffer, well under its size and flush period.
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const audited = run
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"type":"audit"') && line.includes('"path":"/n/'));
    expect(audited).toHaveLength(40);
  });
});
