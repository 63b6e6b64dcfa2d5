import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { runCheck } from '../../src/cli/check.js';

const BAD = 'test/fixtures/config/bad';
const GOOD = 'test/fixtures/config/good';
const ENV = {
  ZTNA_CLIENT_SECRET: 'client-secret',
  ZTNA_SESSION_SECRET: 'a-session-secret-that-is-long-enough-0123456789',
  ZTNA_SHORT_SECRET: 'too-short',
};

async function check(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCheck(argv, {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    env: ENV,
  });
  return { code, out: out.join('\n') + '\n', err: err.join('\n') };
}

/**
 * Golden tests (DESIGN §4): each broken file under fixtures/config/bad has the exact output of
 * `ztna-gateway check` next to it. UPDATE_GOLDEN=1 rewrites them (then read the diff!).
 */
describe('ztna-gateway check on broken files', () => {
  const fixtures = readdirSync(BAD).filter((f) => f.endsWith('.yaml'));
  test.each(fixtures)('%s', async (file) => {
    const path = `${BAD}/${file}`;
    // routes-issuers* refer to service_tokens names: checked against a gateway.yaml with two.
    const gateway = file.startsWith('routes-issuers') ? 'gateway-issuers.yaml' : 'gateway.yaml';
    const argv = file.startsWith('gateway-')
      ? ['--config', path, '--routes', `${GOOD}/routes.yaml`]
      : ['--config', `${GOOD}/${gateway}`, '--routes', path];
    const result = await check(argv);
    const expectedFile = path.replace(/\.yaml$/, '.expected.txt');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedFile, result.out);
    expect(result.out).toBe(readFileSync(expectedFile, 'utf8'));
    const hasErrors = result.out
      .split('\n')
      .some((line) => /^\S+:\d+:\d+: (?!warning:)/.test(line));
    expect(result.code).toBe(hasErrors ? 1 : 0);
    // Never a stack trace, whatever the input.
    expect(result.out + result.err).not.toMatch(/\n\s+at /);
  });
});

describe('ztna-gateway check on the shipped examples', () => {
  test('config/gateway.yaml and routes.yaml are valid', async () => {
    const result = await check(['--config', 'config/gateway.yaml']);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^ok: \d+ routes, 0 warnings\n$/);
  });

  test('a secret pasted where an env var name belongs is never echoed', async () => {
    const result = await check([
      '--config',
      `${BAD}/gateway-secret-in-place-of-name.yaml`,
      '--routes',
      `${GOOD}/routes.yaml`,
    ]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('client_secret_env must be the name of an environment variable');
    expect(result.out + result.err).not.toContain('Zm9vYmFy');
  });

  test('a missing file is reported, not thrown', async () => {
    const result = await check([
      '--config',
      `${GOOD}/gateway.yaml`,
      '--routes',
      'no/such/routes.yaml',
    ]);
    expect(result.code).toBe(1);
    expect(result.out).toBe('no/such/routes.yaml:1:1: file not found\n');
  });
});
