import { formatIssue, sortIssues } from '../config/issues.js';
import { parseGateway, readConfigText } from '../config/load.js';
import { loadRouteTable } from '../config/route-table.js';
import type { GatewayFacts, RouteTable } from '../config/route-table.js';
import type { CliIo } from './io.js';

/**
 * Loads routes.yaml for `explain` and `test`, which work without secrets: gateway.yaml is only
 * read (when given) for the IdP's MFA `acr` values and the service_tokens names. Prints issues and returns undefined when
 * the files are invalid.
 */
export async function loadRoutesForCli(
  routesFile: string,
  configFile: string | undefined,
  io: CliIo,
): Promise<RouteTable | undefined> {
  // Without gateway.yaml: no MFA acr values, and issuers references cannot be checked.
  let gatewayFacts: GatewayFacts = { mfaAcrValues: [], serviceTokens: undefined };
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
    gatewayFacts = {
      mfaAcrValues: gateway.value.idp.mfa_acr_values,
      serviceTokens: gateway.value.service_tokens.map((entry) => entry.name),
    };
  }
  const loaded = await loadRouteTable(routesFile, gatewayFacts);
  if (!loaded.ok) {
    for (const issue of sortIssues(loaded.issues)) io.stdout(formatIssue(issue));
    return undefined;
  }
  return loaded.table;
}
