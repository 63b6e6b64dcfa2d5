#!/usr/bin/env node
// Completes package-lock.json with the platform-specific optional binaries of other systems.
//
// Why: npm records an optional dependency in the lockfile only when it can fetch its manifest.
// The npm registry mirror on our build machines serves Linux x64/arm64 binaries only, so a lock
// written here lacks e.g. @swc/core-darwin-arm64, and `npm ci` then refuses the lock as out of
// sync ("Missing: ... from lock file"). Each missing binary is added as an optional entry with
// the os/cpu its name declares; npm skips such entries on other platforms without fetching them.
//
// Run after every dependency change: `npm run lockfile` (npm install + this script).
// `--check` only reports (exit 1 when entries are missing); the test suite runs it.
import { readFileSync, writeFileSync } from 'node:fs';

const OS = [
  'darwin',
  'linux',
  'win32',
  'android',
  'freebsd',
  'openharmony',
  'sunos',
  'aix',
  'netbsd',
  'openbsd',
];
const CPU = [
  'arm64',
  'x64',
  'arm',
  'ia32',
  'ppc64',
  's390x',
  'riscv64',
  'loong64',
  'wasm32',
  'mips64el',
];

/** os/cpu/libc from a binary package name such as `@swc/core-linux-arm64-musl`. */
export function platformOf(name) {
  const parts = name.slice(name.lastIndexOf('/') + 1).split('-');
  const os = parts.find((p) => OS.includes(p)) ?? (parts.includes('wasm32') ? 'wasm' : undefined);
  const cpu = parts.find((p) => CPU.includes(p));
  if (os === undefined || cpu === undefined) return undefined;
  const libc = parts.some((p) => p.startsWith('musl'))
    ? 'musl'
    : parts.includes('gnu') || parts.some((p) => p.startsWith('gnueabi'))
      ? 'glibc'
      : undefined;
  return { os: [os], cpu: [cpu], ...(os === 'linux' && libc && { libc: [libc] }) };
}

/** The entries a lock is missing: optional dependencies of locked packages that have no entry. */
export function missingOptionalEntries(lock) {
  const missing = new Map();
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const nested = `${path ? `${path}/` : ''}node_modules/${name}`;
      if (lock.packages[nested] || lock.packages[`node_modules/${name}`] || missing.has(name))
        continue;
      missing.set(name, { version, dev: entry.dev === true });
    }
  }
  return missing;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = new URL('../package-lock.json', import.meta.url);
  const lock = JSON.parse(readFileSync(file, 'utf8'));
  if (process.argv.includes('--check')) {
    const missing = [...missingOptionalEntries(lock).keys()];
    if (missing.length > 0) {
      console.error(
        `package-lock.json lacks ${missing.length} optional entries (${missing.slice(0, 3).join(', ')}, ...): run npm run lockfile`,
      );
      process.exit(1);
    }
    process.exit(0);
  }
  const unknown = [];
  for (const [name, { version, dev }] of missingOptionalEntries(lock)) {
    const platform = platformOf(name);
    if (platform === undefined) {
      unknown.push(name);
      continue;
    }
    lock.packages[`node_modules/${name}`] = {
      version,
      ...(dev && { dev: true }),
      optional: true,
      ...platform,
    };
  }
  if (unknown.length > 0) {
    console.error(`cannot tell the platform of: ${unknown.join(', ')}`);
    process.exit(1);
  }
  lock.packages = Object.fromEntries(
    Object.entries(lock.packages).sort(([a], [b]) =>
      a === '' ? -1 : b === '' ? 1 : a.localeCompare(b),
    ),
  );
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}
