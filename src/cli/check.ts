import { formatIssue, hasErrors, sortIssues } from '../config/issues.js';
import { loadConfiguration } from '../config/load-configuration.js';
import { parseOptions } from './args.js';
import { EXIT_FAILURE, EXIT_OK } from './io.js';
import type { CliIo } from './io.js';

export const CHECK_USAGE =
  'ztna-gateway check [--config config/gateway.yaml] [--routes routes.yaml]';

/** `ztna-gateway check`: validates both files, prints every issue as file:line:col, exits 1 on any error. */
export async function runCheck(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(
    argv,
    { config: { type: 'string' }, routes: { type: 'string' } },
    io.env,
  );
  const configFile = (values.config as string | undefined) ?? 'config/gateway.yaml';
  const result = await loadConfiguration(configFile, values.routes as string | undefined, io.env);
  const issues = sortIssues(result.ok ? result.warnings : result.issues);
  for (const issue of issues) io.stdout(formatIssue(issue));
  if (!result.ok || hasErrors(issues)) {
    const errors = issues.filter((i) => i.severity === 'error').length;
    io.stderr(`${errors} error${errors === 1 ? '' : 's'} found`);
    return EXIT_FAILURE;
  }
  io.stdout(
    `ok: ${result.table.routes.length} routes, ${issues.length} warning${issues.length === 1 ? '' : 's'}`,
  );
  return EXIT_OK;
}
