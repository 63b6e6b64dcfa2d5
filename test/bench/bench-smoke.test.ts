import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';

/**
 * The benchmarks of issues 11 and 13 (npm run bench, bench:ab, bench:memory, bench:login,
 * bench:outage, bench:scale) run once each with a tiny size, so that they cannot rot: they must
 * exit 0 and write their JSON. Never a speed.
 */

let dir: string;

beforeAll(async () => {
  if (!existsSync('dist/main.js')) throw new Error('run `npm run build` first (npm test does)');
  dir = await mkdtemp(join(tmpdir(), 'ztna-bench-smoke-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs bench/`script`.mjs with `args`; resolves with the JSON report it wrote. */
function bench(script: string, args: string[]): Promise<Record<string, unknown>> {
  const out = join(dir, `${script}.json`);
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's ESM flags are not the benchmark's
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [`bench/${script}.mjs`, ...args, '--out', out],
      { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`bench/${script}.mjs failed (${error.message}):\n${stdout}\n${stderr}`));
          return;
        }
        resolve(JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>);
      },
    );
  });
}

test('npm run bench measures every target and writes its JSON', async () => {
  const report = await bench('run', ['--duration', '0.3', '--rounds', '1', '--connections', '1']);
  const targets = report.targets as { target: string; connections: number }[];
  expect(targets.map((t) => t.target)).toEqual(['a', 'b', 'c', 'u', 'd', 'e', 'f', 'g', 'h']);
  expect(targets.every((t) => t.connections === 1)).toBe(true);
}, 90_000);

test('npm run bench --baseline runs the gateway targets on the other build too, right after their own', async () => {
  const report = await bench('run', [
    ...['--duration', '0.3', '--rounds', '1', '--connections', '1', '--only', 'b,e'],
    ...['--baseline', '.'],
  ]);
  const targets = report.targets as { target: string }[];
  expect(targets.map((t) => t.target)).toEqual(['b', 'e', 'E']);
}, 90_000);

test('npm run bench:ab runs two builds side by side, round by round', async () => {
  const report = await bench('ab', [
    ...['--baseline', '.', '--only', 'e', '--rounds', '2'],
    ...['--duration', '0.3', '--connections', '1'],
  ]);
  const rounds = report.rounds as { target: string; round: number; ratio: number }[];
  expect(rounds.map((r) => [r.target, r.round])).toEqual([
    ['e', 0],
    ['e', 1],
  ]);
  expect(rounds.every((r) => r.ratio > 0)).toBe(true);
}, 90_000);

test('npm run bench:memory reports session-store, transfer and sustained-load memory', async () => {
  const report = await bench('memory', [
    ...['--sessions', '0,100', '--transfer-mb', '1'],
    ...['--sustain', '1'],
  ]);
  expect((report.sessions as { sessions: number }[]).map((s) => s.sessions)).toEqual([0, 100]);
  expect((report.transfers as { direction: string }[]).map((t) => t.direction)).toEqual([
    'download',
    'upload',
  ]);
  expect(report.sustained).toMatchObject({ target: 'g', seconds: 1, non2xx: 0 });
}, 60_000);

test('npm run bench:login reports sign-ins per second', async () => {
  const report = await bench('login', ['--logins', '2', '--concurrency', '1,2']);
  expect((report.results as { concurrency: number }[]).map((r) => r.concurrency)).toEqual([1, 2]);
}, 60_000);

test('npm run bench:outage kills Redis under load and reports the outage and the recovery', async () => {
  const report = await bench('outage', [
    ...['--before', '0.5', '--down', '1', '--after', '0.3', '--connections', '1'],
  ]);
  expect(Object.keys(report.phases as object)).toEqual(['before', 'down', 'recovering', 'after']);
}, 60_000);

test('npm run bench:scale compares one instance with two sharing Redis', async () => {
  const report = await bench('scale', ['--duration', '0.3', '--connections', '2']);
  expect((report.results as { instances: number }[]).map((r) => r.instances)).toEqual([1, 1, 2]);
}, 90_000);
