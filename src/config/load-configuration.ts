import { resolveGatewaySettings } from './gateway-settings.js';
import type { GatewaySettings } from './gateway-settings.js';
import type { ConfigIssue } from './issues.js';
import { loadGatewayFile } from './load.js';
import { gatewayFactsOf, loadRouteTable } from './route-table.js';
import type { RouteTable } from './route-table.js';

export type Configuration =
  | {
      readonly ok: true;
      readonly settings: GatewaySettings;
      readonly table: RouteTable;
      readonly warnings: readonly ConfigIssue[];
    }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/**
 * Loads gateway.yaml and routes.yaml together, reporting the issues of both files at once.
 * `routesFile` overrides gateway.yaml's `routes_file` (the `--routes` option).
 */
export async function loadConfiguration(
  configFile: string,
  routesFile: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Configuration> {
  const issues: ConfigIssue[] = [];
  const gateway = await loadGatewayFile(configFile);
  let settings: GatewaySettings | undefined;
  if (gateway.ok) {
    const resolved = await resolveGatewaySettings(gateway.value, gateway.source, env);
    if (resolved.ok) settings = resolved.settings;
    else issues.push(...resolved.issues);
  } else {
    issues.push(...gateway.issues);
  }
  const routesPath = routesFile ?? settings?.routesFile;
  if (routesPath === undefined) return { ok: false, issues };
  // Without valid settings the routes are still checked (every issue at once), with no
  // service_tokens entries: any issuers reference is then reported as unknown.
  const routes = await loadRouteTable(
    routesPath,
    settings === undefined ? { mfaAcrValues: [], serviceTokens: [] } : gatewayFactsOf(settings),
  );
  if (!routes.ok) issues.push(...routes.issues);
  if (issues.length > 0 || !routes.ok || settings === undefined) return { ok: false, issues };
  return { ok: true, settings, table: routes.table, warnings: [...routes.table.warnings] };
}
