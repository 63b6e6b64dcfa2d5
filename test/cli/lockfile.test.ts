import { spawnSync } from 'node:child_process';
import { expect, test } from '@jest/globals';

// `npm ci` (the README's first command, and CI's) refuses a lock that misses other platforms'
// optional binaries; scripts/complete-lockfile.mjs explains why this machine writes such locks.
test('package-lock.json lists every optional platform binary, so npm ci accepts it anywhere', () => {
  const run = spawnSync(process.execPath, ['scripts/complete-lockfile.mjs', '--check'], {
    encoding: 'utf8',
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
});
