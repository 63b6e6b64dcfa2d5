#!/usr/bin/env node
// Dependency hygiene for `npm test` (issue 7): the production dependency tree has no known
// high or critical vulnerability.
//
// 1. `npm audit --omit=dev --audit-level=high`: fails on findings.
// 2. When the advisory service cannot be asked (some registry mirrors and proxies refuse its
//    POST with 405), says so loudly and falls back to what a plain registry GET can tell: each
//    production package's `deprecated` notice, failing on notices that announce a security fix.
//    `--strict` makes an unreachable advisory service a failure instead (for CI that has it).
//
// Exit: 0 clean, 1 findings (or, with --strict, no advisory service).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const strict = process.argv.includes('--strict');
const registry = (process.env.npm_config_registry ?? 'https://registry.npmjs.org/').replace(
  /\/?$/,
  '/',
);

async function npmAudit() {
  try {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['audit', '--omit=dev', '--audit-level=high', '--json'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    return JSON.parse(stdout);
  } catch (error) {
    // npm audit exits 1 both on findings (with a report) and on a failed request (without).
    try {
      return JSON.parse(error.stdout ?? '');
    } catch {
      return { error: { summary: String(error.message).split('\n')[0] } };
    }
  }
}

function severeCount(report) {
  const counts = report.metadata?.vulnerabilities ?? {};
  return (counts.high ?? 0) + (counts.critical ?? 0);
}

/** Production packages (name, version) from the committed lockfile. */
async function productionPackages() {
  const lock = JSON.parse(await readFile(new URL('../package-lock.json', import.meta.url)));
  const seen = new Map();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev || entry.link) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 13);
    seen.set(`${name}@${entry.version}`, { name, version: entry.version });
  }
  return [...seen.values()];
}

const SECURITY_NOTICE = /secur|vulnerab|CVE-|GHSA-|exploit/i;

async function deprecationCheck() {
  const packages = await productionPackages();
  const findings = [];
  const notices = [];
  const unreachable = [];
  const queue = [...packages];
  async function worker() {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const url = `${registry}${next.name.replace('/', '%2F')}/${next.version}`;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const { deprecated } = await response.json();
        if (typeof deprecated !== 'string') continue;
        const line = `${next.name}@${next.version}: ${deprecated}`;
        (SECURITY_NOTICE.test(deprecated) ? findings : notices).push(line);
      } catch (error) {
        unreachable.push(`${next.name}@${next.version} (${error.message})`);
      }
    }
  }
  await Promise.all(Array.from({ length: 12 }, worker));
  for (const line of notices) console.log(`  deprecated: ${line}`);
  for (const line of unreachable) console.log(`  not checked: ${line}`);
  for (const line of findings) console.error(`  SECURITY: ${line}`);
  console.log(
    `audit fallback: ${packages.length} production packages, ${findings.length} security deprecations, ${notices.length} other deprecations, ${unreachable.length} not reachable`,
  );
  return findings.length === 0;
}

const report = await npmAudit();
if (report.error === undefined && report.metadata !== undefined) {
  const severe = severeCount(report);
  const total = report.metadata.vulnerabilities?.total ?? 0;
  console.log(`npm audit --omit=dev: ${total} vulnerabilities, ${severe} high or critical`);
  if (severe > 0) {
    for (const [name, v] of Object.entries(report.vulnerabilities ?? {})) {
      if (v.severity === 'high' || v.severity === 'critical')
        console.error(`  ${v.severity}: ${name} ${v.range ?? ''}`);
    }
    process.exit(1);
  }
  process.exit(0);
}

console.log(
  `npm audit could not ask the advisory service: ${report.message ?? report.error?.summary ?? 'no report'}`,
);
if (strict) {
  console.error('--strict: an audit that could not run is a failure');
  process.exit(1);
}
console.log('falling back to the registry’s deprecation notices (GET only)');
process.exit((await deprecationCheck()) ? 0 : 1);
