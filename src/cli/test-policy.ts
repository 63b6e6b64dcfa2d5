import { basename, dirname, join } from 'node:path';
import { formatIssue, sortIssues } from '../config/issues.js';
import { readConfigText } from '../config/load.js';
import {
  describedPosture,
  identityDescription,
  POLICY_TESTS_HINTS,
  policyTestsSchema,
} from '../config/policy-tests-schema.js';
import type { PolicyTests } from '../config/policy-tests-schema.js';
import { parseYaml } from '../config/yaml-source.js';
import { translateZodIssues } from '../config/zod-issues.js';
import type { RouteTable } from '../config/route-table.js';
import { describedIdentity } from '../policy/described-identity.js';
import { simulate } from '../pipeline/explain.js';
import { parseOptions } from './args.js';
import { decisionLine, traceLines } from './describe-simulation.js';
import { EXIT_FAILURE, EXIT_OK } from './io.js';
import type { CliIo } from './io.js';
import { loadRoutesForCli } from './routes-for-cli.js';

export const TEST_USAGE = 'ztna-gateway test [--routes routes.yaml] [--config F] [FILE.test.yaml]';

/** Reads and validates a test file, printing issues as file:line:col. */
async function loadTests(file: string, io: CliIo): Promise<PolicyTests | undefined> {
  const read = await readConfigText(file);
  const parsed =
    'text' in read ? parseYaml(file, read.text) : { ok: false as const, issues: read.issues };
  if (!parsed.ok) {
    sortIssues(parsed.issues).forEach((i) => io.stdout(formatIssue(i)));
    return undefined;
  }
  const result = policyTestsSchema.safeParse(parsed.source.data, { reportInput: true });
  if (!result.success) {
    const namer = (path: readonly PropertyKey[], data: unknown) => {
      if (path[0] !== 'cases' || typeof path[1] !== 'number') return { rest: path };
      const name = ((data as { cases?: Array<{ name?: unknown }> }).cases?.[path[1]] ?? {}).name;
      return {
        subject: typeof name === 'string' ? `case "${name}"` : `cases[${path[1]}]`,
        rest: path.slice(2),
      };
    };
    sortIssues(
      translateZodIssues(result.error.issues, parsed.source, namer, POLICY_TESTS_HINTS),
    ).forEach((i) => io.stdout(formatIssue(i)));
    return undefined;
  }
  return result.data;
}

/** Runs the cases; prints a line per case, the trace of each failure, and the totals last. */
export async function runCases(
  table: RouteTable,
  tests: PolicyTests,
  io: CliIo,
  now: number,
): Promise<{ passed: number; failed: number }> {
  let passed = 0;
  let failed = 0;
  for (const testCase of tests.cases) {
    const at = testCase.request.at ?? now;
    const identity =
      testCase.identity && describedIdentity(identityDescription(testCase.identity), at);
    const posture = testCase.posture && describedPosture(testCase.posture, at);
    const simulation = await simulate(
      table,
      { method: testCase.request.method, url: testCase.request.url, ip: testCase.request.ip, at },
      identity,
      posture,
      { deviceId: testCase.session?.device_id },
    );
    const { decision } = simulation;
    const ok =
      decision.effect === testCase.expect &&
      (testCase.reason === undefined || decision.reason === testCase.reason);
    if (ok) {
      passed++;
      io.stdout(`ok    ${testCase.name}`);
      continue;
    }
    failed++;
    const expected = `${testCase.expect}${testCase.reason === undefined ? '' : ` (${testCase.reason})`}`;
    io.stdout(`FAIL  ${testCase.name}`);
    io.stdout(`      expected ${expected}, got ${decisionLine(simulation)}`);
    io.stdout(
      `      route ${simulation.route?.name ?? '(none)'}${simulation.policyLabel ? `, ${simulation.policyLabel}` : ''}${simulation.refusal ? `, refused: ${simulation.refusal}` : ''}`,
    );
    traceLines(simulation).forEach((line) => io.stdout(`    ${line}`));
  }
  return { passed, failed };
}

/** `ztna-gateway test`: policy test cases against routes.yaml; `N passed, N failed` last; exit 1 on any failure. */
export async function runPolicyTests(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(
    argv,
    { routes: { type: 'string' }, config: { type: 'string' } },
    io.env,
    true,
  );
  const routesFile = (values.routes as string | undefined) ?? 'routes.yaml';
  const testsFile =
    positionals[0] ??
    join(dirname(routesFile), `${basename(routesFile).replace(/\.ya?ml$/, '')}.test.yaml`);
  const table = await loadRoutesForCli(routesFile, values.config as string | undefined, io);
  const tests = await loadTests(testsFile, io);
  if (table === undefined || tests === undefined) {
    io.stdout('0 passed, 0 failed (the files above must be fixed first)');
    return EXIT_FAILURE;
  }
  const { passed, failed } = await runCases(table, tests, io, Date.now());
  io.stdout(`${passed} passed, ${failed} failed`);
  return failed === 0 ? EXIT_OK : EXIT_FAILURE;
}
