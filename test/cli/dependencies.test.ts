import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, test } from '@jest/globals';

/**
 * Dependency hygiene (issue 7): a committed lockfile that pins every package to the registry
 * with an integrity hash, no install scripts run, and an audit step in `npm test` that fails
 * on high or critical advisories.
 */

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  link?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  hasInstallScript?: boolean;
}

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
};
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
  allowScripts?: Record<string, boolean>;
};
const installed = Object.entries(lock.packages).filter(([path, e]) => path !== '' && !e.link);
const nameOf = (path: string) => path.slice(path.lastIndexOf('node_modules/') + 13);

describe('the lockfile', () => {
  test('pins every package to the registry with a sha512 integrity hash', () => {
    expect(lock.lockfileVersion).toBe(3);
    // No git, tarball-URL or file dependencies: everything comes from the registry.
    expect(
      installed.filter(
        ([, e]) =>
          e.resolved !== undefined && !e.resolved.startsWith('https://registry.npmjs.org/'),
      ),
    ).toEqual([]);
    // Every package is pinned by hash, except other systems' optional dev binaries that
    // scripts/complete-lockfile.mjs adds (the registry mirror here cannot serve their hashes).
    const unpinned = installed.filter(([, e]) => !e.integrity?.startsWith('sha512-'));
    expect(unpinned.filter(([, e]) => !e.dev)).toEqual([]);
    expect(unpinned.filter(([, e]) => !(e.optional && (e.os || e.cpu)))).toEqual([]);
  });

  test('install scripts never run, and every package that has one was reviewed', async () => {
    const { stdout } = await promisify(execFile)('npm', ['config', 'get', 'ignore-scripts']);
    expect(stdout.trim()).toBe('true');
    const withScripts = [
      ...new Set(installed.filter(([, e]) => e.hasInstallScript).map(([p]) => nameOf(p))),
    ];
    // allowScripts (npm >= 11.16) records the review: false = never run. A new dependency with
    // an install script fails here until someone looks at it.
    expect(withScripts.sort()).toEqual(Object.keys(manifest.allowScripts ?? {}).sort());
    expect(Object.values(manifest.allowScripts ?? {}).every((allowed) => !allowed)).toBe(true);
  });
});

/**
 * A registry that answers what `npm audit` asks: the bulk advisory POST (or 405, like the
 * mirrors that refuse it) and per-version GETs with an optional deprecation notice.
 */
async function fakeRegistry(options: {
  advisories?: Record<string, { severity: string }[]>;
  deprecated?: Record<string, string>;
}) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '/');
    if (req.method === 'POST' && path.includes('/security/advisories/bulk')) {
      if (options.advisories === undefined) return void res.writeHead(405).end();
      const body = Object.fromEntries(
        Object.entries(options.advisories).map(([name, list]) => [
          name,
          list.map((a, i) => ({
            id: 1000 + i,
            url: `https://github.com/advisories/GHSA-test-${i}`,
            title: `test advisory ${i}`,
            severity: a.severity,
            vulnerable_versions: '>=0.0.0',
            cwe: [],
            cvss: { score: 0, vectorString: null },
          })),
        ]),
      );
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(body));
    }
    // GET /<name>/<version> (scoped names arrive as @scope%2Fname)
    const match = /^\/(@[^/]+\/[^/]+|[^/]+)\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && match) {
      const [, name, version] = match;
      const deprecated = options.deprecated?.[name!];
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ name, version, ...(deprecated && { deprecated }) }));
    }
    res.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function audit(registry: string, ...args: string[]) {
  // A cache of its own per run: npm would otherwise answer from another registry's report.
  const cache = await mkdtemp(join(tmpdir(), 'npm-cache-'));
  try {
    const { stdout } = await promisify(execFile)('node', ['scripts/audit-deps.mjs', ...args], {
      env: { ...process.env, npm_config_registry: registry, npm_config_cache: cache },
    });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

describe('npm run audit', () => {
  test('fails on a high advisory for a production package, passes on a moderate one', async () => {
    const high = await fakeRegistry({ advisories: { express: [{ severity: 'high' }] } });
    const moderate = await fakeRegistry({ advisories: { express: [{ severity: 'moderate' }] } });
    try {
      const failing = await audit(high.url);
      expect(failing.code).toBe(1);
      expect(failing.out).toMatch(/high: express/);
      const passing = await audit(moderate.url);
      expect(passing.out).toMatch(/0 high or critical/);
      expect(passing.code).toBe(0);
    } finally {
      await Promise.all([high.close(), moderate.close()]);
    }
  }, 60_000);

  test('without the advisory service it says so, and falls back to security deprecations', async () => {
    const clean = await fakeRegistry({});
    const flagged = await fakeRegistry({
      deprecated: { jose: 'versions below 7 have a critical security vulnerability, upgrade' },
    });
    try {
      const ok = await audit(clean.url);
      expect(ok.out).toMatch(/could not ask the advisory service: 405/);
      expect(ok.out).toMatch(/0 security deprecations/);
      expect(ok.code).toBe(0);
      const bad = await audit(flagged.url);
      expect(bad.out).toMatch(/SECURITY: jose@/);
      expect(bad.code).toBe(1);
      const strict = await audit(clean.url, '--strict');
      expect(strict.code).toBe(1);
    } finally {
      await Promise.all([clean.close(), flagged.close()]);
    }
  }, 60_000);
});
