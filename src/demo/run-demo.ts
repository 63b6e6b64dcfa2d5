import { randomBytes } from 'node:crypto';
import { createLoggers } from '../audit/loggers.js';
import type { Loggers } from '../audit/loggers.js';
import { resolveGatewaySettings } from '../config/gateway-settings.js';
import { formatIssue } from '../config/issues.js';
import { parseGateway, parseRoutes } from '../config/load.js';
import { compileRouteTable } from '../config/route-table.js';
import type { ConfigIssue } from '../config/issues.js';
import { startGateway } from '../gateway/start.js';
import type { RunningGateway } from '../gateway/start.js';
import { startDemoApp } from './app.js';
import { ACR_MFA, startIdp } from './idp.js';
import { DEMO_USERS } from './users.js';

const HOSTS = {
  app: 'app.localhost',
  admin: 'admin.localhost',
  status: 'status.localhost',
} as const;

function demoRoutes(upstream: string): string {
  return `version: 1
routes:
  - name: demo-app
    host: ${HOSTS.app}
    upstream: ${upstream}
    policy:
      allow:
        - email_domains: [corp.example]
  - name: demo-admin
    host: ${HOSTS.admin}
    upstream: ${upstream}
    # No standing access for sales: bob asks from the deny page, an engineer approves.
    jit: { grant: demo-admin, max_duration: 4h, approvers: { groups: [engineering] }, require_reason: true }
    policy:
      allow:
        - groups: [engineering]
        - grant: demo-admin
    rules:
      - path: /settings
        policy:
          allow:
            - groups: [engineering]
              mfa: true
  - name: demo-status
    host: ${HOSTS.status}
    upstream: ${upstream}
    public: true
`;
}

function demoGatewayYaml(issuer: string, listen: string): string {
  return `listen: "${listen}"
admin_listen: "127.0.0.1:0"
idp:
  issuer: ${issuer}
  client_id: ztna-demo
  client_secret_env: ZTNA_DEMO_CLIENT_SECRET
  mfa_acr_values: [${ACR_MFA}]
session:
  secret_env: ZTNA_DEMO_SESSION_SECRET
`;
}

/** Fails loudly: the demo's own config is ours, so an issue here is a bug. */
function demoConfigBug(issues: readonly ConfigIssue[]): never {
  throw new TypeError(`demo config invalid:\n${issues.map(formatIssue).join('\n')}`);
}

/**
 * `serve --demo`: an embedded IdP with demo users, a demo internal app and the gateway in
 * front of it, all on loopback. Prints what to open.
 */
export async function runDemo(options: {
  listen: string | undefined;
  /** Where the demo prints what to open (the CLI's stdout). */
  print: (line: string) => void;
  loggers?: Loggers;
  /** The gateway's clock (epoch ms); tests move it to expire grants. */
  now?: () => number;
}): Promise<RunningGateway> {
  const idp = await startIdp(DEMO_USERS);
  const app = await startDemoApp();
  const env = {
    ZTNA_DEMO_CLIENT_SECRET: randomBytes(24).toString('base64url'),
    ZTNA_DEMO_SESSION_SECRET: randomBytes(48).toString('base64url'),
  };

  // The demo's config goes through the same loaders as real files: it is no special case.
  const gatewayFile = parseGateway(
    '(demo gateway.yaml)',
    demoGatewayYaml(idp.issuer, options.listen ?? '127.0.0.1:8080'),
  );
  if (!gatewayFile.ok) demoConfigBug(gatewayFile.issues);
  const resolved = await resolveGatewaySettings(gatewayFile.value, gatewayFile.source, env);
  if (!resolved.ok) demoConfigBug(resolved.issues);
  const routesText = demoRoutes(app.url);
  const routesFile = parseRoutes('(demo routes.yaml)', routesText);
  if (!routesFile.ok) demoConfigBug(routesFile.issues);
  const table = compileRouteTable(routesFile.value, routesText, {
    mfaAcrValues: resolved.settings.idp.mfaAcrValues,
  });

  let gateway: RunningGateway;
  try {
    gateway = await startGateway({
      settings: resolved.settings,
      table,
      loggers: options.loggers ?? createLoggers('info'),
      ...(options.now !== undefined && { now: options.now }),
    });
  } catch (error) {
    await Promise.all([idp.close(), app.close()]);
    throw error;
  }
  const port = gateway.proxyAddress.port;
  const origins = Object.values(HOSTS).map((host) => `http://${host}:${port}`);
  await idp.configure([
    {
      clientId: 'ztna-demo',
      clientSecret: env.ZTNA_DEMO_CLIENT_SECRET,
      redirectUris: origins.map((o) => `${o}/.ztna/callback`),
      postLogoutRedirectUris: origins.map((o) => `${o}/.ztna/signed-out`),
      backchannelLogoutUri: `${origins[0]}/.ztna/backchannel-logout`,
    },
  ]);

  const io = { stdout: options.print };
  io.stdout('');
  io.stdout(
    'ztna-gateway demo is running. Open in a browser (Chrome or Firefox resolve *.localhost):',
  );
  io.stdout(`  http://${HOSTS.app}:${port}/      anyone at corp.example`);
  io.stdout(`  http://${HOSTS.admin}:${port}/    engineering only (alice yes, bob no)`);
  io.stdout(
    `  http://${HOSTS.admin}:${port}/settings   also needs a second factor: step-up (alice's one-time code: 123456)`,
  );
  io.stdout(
    `  http://${HOSTS.admin}:${port}/.ztna/access   just-in-time access: bob asks from the admin app's deny page, alice approves here`,
  );
  io.stdout(`  http://${HOSTS.status}:${port}/   public, no sign-in`);
  io.stdout(
    `Demo users (password "demo"): ${DEMO_USERS.map((u) => `${u.username} (${(u.groups ?? []).join(', ')})`).join(', ')}`,
  );
  io.stdout(`Metrics: http://127.0.0.1:${gateway.adminAddress.port}/metrics   IdP: ${idp.issuer}`);
  io.stdout('Audit lines follow as JSON. Ctrl-C stops.');
  io.stdout('');

  return {
    ...gateway,
    async close() {
      await gateway.close();
      await Promise.all([idp.close(), app.close()]);
    },
  };
}
