import { CHECK_USAGE, runCheck } from './check.js';
import { EXPLAIN_USAGE, runExplain } from './explain.js';
import { GRANTS_USAGE, runGrants } from './grants.js';
import { KEYS_USAGE, runKeys } from './keys.js';
import { runSchema, SCHEMA_USAGE } from './schema.js';
import { runPolicyTests, TEST_USAGE } from './test-policy.js';
import { EXIT_USAGE, UsageError } from './io.js';
import type { CliIo } from './io.js';
import { runServe, SERVE_USAGE } from './serve.js';
import { runSessions, SESSIONS_USAGE } from './sessions.js';

const COMMANDS: Record<string, (argv: readonly string[], io: CliIo) => Promise<number>> = {
  serve: runServe,
  check: runCheck,
  explain: runExplain,
  test: runPolicyTests,
  schema: runSchema,
  keys: runKeys,
  sessions: runSessions,
  grants: runGrants,
};

const USAGE = [
  'usage:',
  `  ${SERVE_USAGE}`,
  `  ${CHECK_USAGE}`,
  `  ${EXPLAIN_USAGE}`,
  `  ${TEST_USAGE}`,
  `  ${SCHEMA_USAGE}`,
  `  ${KEYS_USAGE}`,
  `  ${SESSIONS_USAGE}`,
  `  ${GRANTS_USAGE}`,
  '',
  'Every option can also be set as ZTNA_<OPTION> in the environment.',
].join('\n');

/** Runs the CLI (SPEC §3) and returns the exit code: 0 ok, 1 validation failure, 2 usage. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'help' || first === '--help' || first === '-h') {
    io.stdout(USAGE);
    return 0;
  }
  // `serve` is the default command: `ztna-gateway --demo` works too.
  const [name, args] =
    first === undefined || first.startsWith('-') ? ['serve', argv] : [first, rest];
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr(`unknown command "${name}"\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return await command(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message}\n${USAGE}`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
