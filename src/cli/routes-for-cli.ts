import { formatIssue, sortIssues } from '../config/issues.js';
import { parseGateway, readConfigText } from '../config/load.js';
import { loadRouteTable } from '../config/route-table.js';
import type { RouteTable } from '../config/route-table.js';
import type { CliIo } from './io.js';

/**
 * Loads routes.yaml for `explain` and `test`, which work without secrets: gateway.yaml is only
 * read (when given) for the IdP's MFA `acr` values. Prints issues and returns undefined when
 * the files are invalid.
 */
export async function loadRoutesForCli(
  routesFile: string,
  configFile: string | undefined,
  io: CliIo,
): Promise<RouteTable | undefined> {
  let mfaAcrValues: readonly string[] = [];
  if (configFile !== undefined) {
    const read = await readConfigText(configFile);
    const gateway =
      'text' in read
        ? parseGateway(configFile, read.text)
        : { ok: false as const, issues: read.issues };
    if (!gateway.ok) {
      for (const issue of sortIssues(gateway.issues)) io.stdout(formatIssue(issue));
      return undefined;
    }
    mfaAcrValues = gateway.value.idp.mfa_acr_values;
  }
  const loaded = await loadRouteTable(routesFile, mfaAcrValues);
  if (!loaded.ok) {
    for (const issue of sortIssues(loaded.issues)) io.stdout(formatIssue(issue));
    return undefined;
  }
  return loaded.table;
}
