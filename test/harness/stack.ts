import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLoggers } from '../../src/audit/loggers.js';
import { startGateway } from '../../src/gateway/start.js';
import type { RunningGateway } from '../../src/gateway/start.js';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfiguration } from '../../src/config/load-configuration.js';
import { parseRoutes } from '../../src/config/load.js';
import { startIdp } from '../../src/demo/idp.js';
import type { EmbeddedIdp, IdpOptions, IdpUser } from '../../src/demo/idp.js';
import { eventually } from './eventually.js';
import { TestClient } from './http-client.js';
import type { Reply } from './http-client.js';
import { startUpstream } from './upstream.js';
import type { Upstream } from './upstream.js';
import { TEST_USERS } from './users.js';

export interface StackOptions {
  /** routes.yaml text; `upstream` is the URL of the recording upstream (`tlsUpstream`: an https one). */
  readonly routes: (upstream: string, tlsUpstream: string) => string;
  /** Extra gateway.yaml top-level text, and lines inside `session:` and `idp:`. */
  readonly gatewayExtra?: string;
  /**
   * Lines inside `limits:`. By default the failed-sign-in limit is lifted: suites provoke far
   * more failed sign-ins from 127.0.0.1 than any person does (test/security/limits.test.ts
   * tests it).
   */
  readonly limits?: string;
  readonly sessionExtra?: string;
  readonly idpExtra?: string;
  readonly users?: readonly IdpUser[];
  readonly now?: () => number;
  /** Serve HTTPS with the test certificate (test/fixtures/tls). */
  readonly tls?: boolean;
  /** Extra environment for gateway.yaml's *_env keys (e.g. a Redis URL, an admin token). */
  readonly env?: Record<string, string>;
  /** Reuse another stack's IdP and upstream: a second gateway instance behind the same IdP. */
  readonly sharing?: Stack;
  readonly idp?: IdpOptions;
}

export const TEST_CERT_FILE = join(process.cwd(), 'test/fixtures/tls/gateway.crt');
export const TEST_KEY_FILE = join(process.cwd(), 'test/fixtures/tls/gateway.key');

/** One audit line as written by the gateway. */
export type AuditLine = Record<string, unknown> & { type: string; decision?: string };

export interface Stack {
  readonly port: number;
  /** The deployment's secrets (a second instance shares them). */
  readonly secrets: Record<string, string>;
  readonly tlsUpstream: Upstream;
  /** The routes.yaml the gateway hot-reloads. */
  readonly routesFile: string;
  readonly upstream: Upstream;
  readonly idp: EmbeddedIdp;
  readonly gateway: RunningGateway;
  /** Every JSON log line, audit and operational, in order. */
  readonly logLines: Record<string, unknown>[];
  /** The raw log text, to grep for secrets. */
  readonly rawLog: () => string;
  audit(): AuditLine[];
  /** Waits for the audit line matching `predicate` (it is written when the response closes). */
  auditLine(predicate: (line: AuditLine) => boolean): Promise<AuditLine>;
  url(host: string, path?: string): string;
  adminUrl(path: string): string;
  metrics(): Promise<string>;
  /**
   * Drives a browser from `url` through any login: IdP form (with a one-time code when given)
   * → callback → back to the URL. Returns the first answer that is not a redirect.
   */
  login(
    client: TestClient,
    username: string,
    url: string,
    options?: { otp?: string },
  ): Promise<Reply>;
  close(): Promise<void>;
}

/** The value of one sample in Prometheus text, or 0 when absent. */
export function sampleValue(
  metricsText: string,
  name: string,
  labels: Record<string, string>,
): number {
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(name + '{') && line.split(' ')[0] !== name) continue;
    const labelText = line.slice(name.length, line.lastIndexOf(' '));
    const matches = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/**
 * Starts a real IdP (oidc-provider), a real recording upstream and the real gateway, all on
 * ephemeral loopback ports, configured through gateway.yaml and routes.yaml files on disk.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'ztna-test-'));
  const users = options.users ?? TEST_USERS;
  const shared = options.sharing;
  const idp = shared?.idp ?? (await startIdp(users, options.idp));
  const upstream = shared?.upstream ?? (await startUpstream());
  const tlsUpstream =
    shared?.tlsUpstream ??
    (await startUpstream({ cert: readFileSync(TEST_CERT_FILE), key: readFileSync(TEST_KEY_FILE) }));
  const routesText = options.routes(upstream.url, tlsUpstream.url);
  await writeFile(join(dir, 'routes.yaml'), routesText);
  await writeFile(
    join(dir, 'gateway.yaml'),
    `listen: "127.0.0.1:0"
admin_listen: "127.0.0.1:0"
routes_file: routes.yaml
idp:
  issuer: ${idp.issuer}
  client_id: gateway-under-test
  client_secret_env: TEST_CLIENT_SECRET
${options.idpExtra ?? ''}
session:
  secret_env: TEST_SESSION_SECRET
${options.sessionExtra ?? ''}
limits:
${options.limits ?? '  failed_signins_per_minute: 100000'}
${options.tls ? `tls:\n  cert_file: ${TEST_CERT_FILE}\n  key_file: ${TEST_KEY_FILE}` : ''}
${options.gatewayExtra ?? ''}
`,
  );
  // Instances of one deployment share the client and session secrets (SPEC §12).
  const secrets = shared?.secrets ?? {
    TEST_CLIENT_SECRET: randomBytes(16).toString('hex'),
    TEST_SESSION_SECRET: randomBytes(32).toString('hex'),
  };
  const env = { ...secrets, ...options.env };
  const configuration = await loadConfiguration(join(dir, 'gateway.yaml'), undefined, env);
  if (!configuration.ok) {
    // Leave nothing running behind a broken test config, or jest never exits.
    if (shared === undefined)
      await Promise.all([idp.close(), upstream.close(), tlsUpstream.close()]);
    throw new Error(configuration.issues.map(formatIssue).join('\n'));
  }

  const logLines: Record<string, unknown>[] = [];
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw += chunk.toString();
      for (const line of chunk.toString().split('\n'))
        if (line.trim() !== '') logLines.push(JSON.parse(line));
      done();
    },
  });
  const gateway = await startGateway({
    settings: configuration.settings,
    table: configuration.table,
    loggers: createLoggers('debug', sink),
    drainTimeoutMs: 2000,
    routesFile: join(dir, 'routes.yaml'),
    // No polling: reload tests must pass on file-system events alone (rename saves, symlink swaps).
    reloadPollMs: 0,
    ...(options.now !== undefined && { now: options.now }),
  });
  const port = gateway.proxyAddress.port;
  const parsed = parseRoutes('routes.yaml', routesText);
  const hosts = parsed.ok
    ? [...new Set(parsed.value.routes.map((r) => r.host).filter((h) => !h.startsWith('*')))]
    : [];
  const scheme = options.tls ? 'https' : 'http';
  const origins = hosts.map((h) => `${scheme}://${h}:${port}`);
  // A second instance signs users in through the first one's IdP registration.
  if (shared === undefined) {
    await idp.configure([
      {
        clientId: 'gateway-under-test',
        clientSecret: secrets.TEST_CLIENT_SECRET!,
        redirectUris: origins.map((o) => `${o}/.ztna/callback`),
        postLogoutRedirectUris: origins.map((o) => `${o}/.ztna/signed-out`),
        ...(origins[0] !== undefined && {
          backchannelLogoutUri: `${origins[0]}/.ztna/backchannel-logout`,
        }),
      },
    ]);
  }

  const stack: Stack = {
    port,
    secrets,
    tlsUpstream,
    routesFile: join(dir, 'routes.yaml'),
    upstream,
    idp,
    gateway,
    logLines,
    rawLog: () => raw,
    audit: () => logLines.filter((l) => l.type === 'audit') as AuditLine[],
    auditLine: (predicate) => eventually(() => stack.audit().findLast(predicate)),
    url: (host, path = '/') => `${scheme}://${host}:${port}${path}`,
    adminUrl: (path) => `http://127.0.0.1:${gateway.adminAddress.port}${path}`,
    async metrics() {
      return (await new TestClient().request(stack.adminUrl('/metrics'))).text;
    },
    async login(client, username, url, loginOptions = {}) {
      let reply = await client.navigate(url);
      for (let hop = 0; hop < 15; hop++) {
        if (reply.status >= 300 && reply.status < 400 && reply.location !== undefined) {
          const next = reply.location;
          reply = await client.navigate(next);
          // The IdP's sign-in form: fill it in like a person would.
          if (reply.status === 200 && /\/interaction\/[\w-]+$/.test(new URL(next).pathname)) {
            reply = await client.request(`${next}/login`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
              body: new URLSearchParams({
                username,
                password: users.find((u) => u.username === username)?.password ?? '',
                otp: loginOptions.otp ?? '',
              }).toString(),
            });
          }
          continue;
        }
        return reply;
      }
      throw new Error('login did not finish');
    },
    async close() {
      await gateway.close();
      if (shared === undefined)
        await Promise.all([idp.close(), upstream.close(), tlsUpstream.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
