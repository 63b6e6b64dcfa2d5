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
import type { YamlSource } from '../config/yaml-source.js';
import type { ConfigIssue } from '../config/issues.js';
import { translateZodIssues } from '../config/zod-issues.js';
import type { RouteTable } from '../config/route-table.js';
import { describedIdentity } from '../policy/described-identity.js';
import { simulate } from '../pipeline/explain.js';
import { explainGrants } from '../pipeline/explain-grants.js';
import { suggestClosest } from '../lib/did-you-mean.js';
import { parseOptions } from './args.js';
import { decisionLine, grantLines, traceLines } from './describe-simulation.js';
import { EXIT_FAILURE, EXIT_OK } from './io.js';
import type { CliIo } from './io.js';
import { loadRoutesForCli } from './routes-for-cli.js';

export const TEST_USAGE = 'ztna-gateway test [--routes routes.yaml] [--config F] [FILE.test.yaml]';

/** Reads and validates a test file, printing issues as file:line:col. */
async function loadTests(
  file: string,
  io: CliIo,
): Promise<{ tests: PolicyTests; source: YamlSource } | undefined> {
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
  return { tests: result.data, source: parsed.source };
}

/**
 * A case's `grants` must name grants a `jit` of the routes file declares, and be held by a
 * signed-in person: any other grant could never be held, so the case would test nothing real.
 */
function grantIssues(tests: PolicyTests, source: YamlSource, table: RouteTable): ConfigIssue[] {
  const declared = [...table.offers.keys()];
  const issues: ConfigIssue[] = [];
  const at = (path: PropertyKey[], message: string, hint?: string) => {
    const { line, col } = source.position(path, 'value');
    issues.push({ file: source.file, line, col, severity: 'error', message, hint });
  };
  tests.cases.forEach((testCase, i) => {
    const grants = testCase.grants ?? [];
    if (grants.length === 0) return;
    const subject = `case "${testCase.name}": grants`;
    if (testCase.identity === undefined || testCase.identity.issuer !== undefined) {
      at(
        ['cases', i, 'grants'],
        `${subject} needs an identity of a signed-in person: only people hold grants${testCase.identity === undefined ? '' : ', never workloads'}`,
        'identity: { email: bob@corp.example }',
      );
      return;
    }
    grants.forEach((name, k) => {
      if (declared.includes(name)) return;
      const guess = suggestClosest(name, declared);
      at(
        ['cases', i, 'grants', k],
        `${subject}[${k}] must name a grant that a jit of the routes file declares; "${name}" is not one (${declared.length > 0 ? `declared: ${declared.join(', ')}` : 'none are declared'})`,
        guess === undefined ? undefined : `did you mean "${guess}"?`,
      );
    });
  });
  return issues;
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
    const request = {
      method: testCase.request.method,
      url: testCase.request.url,
      ip: testCase.request.ip,
      at,
    };
    const session = { deviceId: testCase.session?.device_id, grants: testCase.grants };
    const simulation = await simulate(table, request, identity, posture, session);
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
    const explained = await explainGrants(table, request, identity, posture, session, simulation);
    grantLines(explained, simulation).forEach((line) => io.stdout(`      ${line}`));
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
  const loaded = await loadTests(testsFile, io);
  const issues = table && loaded && grantIssues(loaded.tests, loaded.source, table);
  sortIssues(issues ?? []).forEach((i) => io.stdout(formatIssue(i)));
  if (table === undefined || loaded === undefined || issues === undefined || issues.length > 0) {
    io.stdout('0 passed, 0 failed (the files above must be fixed first)');
    return EXIT_FAILURE;
  }
  const { passed, failed } = await runCases(table, loaded.tests, io, Date.now());
  io.stdout(`${passed} passed, ${failed} failed`);
  return failed === 0 ? EXIT_OK : EXIT_FAILURE;
}
