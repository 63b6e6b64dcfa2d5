import { readFile } from 'node:fs/promises';
import { formatIssue } from '../config/issues.js';
import { describedPosture, postureDescriptionSchema } from '../config/policy-tests-schema.js';
import { parseYaml } from '../config/yaml-source.js';
import { translateZodIssues } from '../config/zod-issues.js';
import { formatDuration, parseDuration } from '../lib/duration.js';
import type { Identity } from '../policy/types.js';
import type { CollectedPosture } from '../posture/collect.js';
import { describedIdentity } from '../policy/described-identity.js';
import { simulate } from '../pipeline/explain.js';
import { explainGrants } from '../pipeline/explain-grants.js';
import type { RouteTable } from '../config/route-table.js';
import { suggestClosest } from '../lib/did-you-mean.js';
import { parseOptions } from './args.js';
import { decisionLine, grantLines, traceLines } from './describe-simulation.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';
import type { CliIo } from './io.js';
import { loadRoutesForCli } from './routes-for-cli.js';

export const EXPLAIN_USAGE =
  'ztna-gateway explain --routes F --url URL [--method M] [--user EMAIL] [--issuer NAME] [--groups a,b] [--claim k=v]... [--mfa] [--auth-age 10m] [--ip IP] [--posture FILE.json] [--session-device ID] [--grant NAME]... [--at ISO-TIME] [--config F]';

const OPTIONS = {
  routes: { type: 'string' },
  config: { type: 'string' },
  url: { type: 'string' },
  method: { type: 'string' },
  user: { type: 'string' },
  groups: { type: 'string' },
  claim: { type: 'string', multiple: true },
  issuer: { type: 'string' },
  mfa: { type: 'boolean' },
  'auth-age': { type: 'string' },
  ip: { type: 'string' },
  posture: { type: 'string' },
  'session-device': { type: 'string' },
  grant: { type: 'string', multiple: true },
  at: { type: 'string' },
} as const;

/** `--claim level=3`: JSON scalars and lists are read as such, anything else is a string. */
function parseClaim(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`--claim ${text}: expected name=value`);
  const raw = text.slice(eq + 1);
  try {
    return [text.slice(0, eq), JSON.parse(raw)];
  } catch {
    return [text.slice(0, eq), raw];
  }
}

async function readPosture(
  file: string,
  at: number,
  io: CliIo,
): Promise<CollectedPosture | undefined | 'invalid'> {
  const parsed = parseYaml(file, await readFile(file, 'utf8'));
  if (!parsed.ok) {
    parsed.issues.forEach((i) => io.stdout(formatIssue(i)));
    return 'invalid';
  }
  const result = postureDescriptionSchema.safeParse(parsed.source.data, { reportInput: true });
  if (!result.success) {
    translateZodIssues(result.error.issues, parsed.source, (path) => ({ rest: path }), {}).forEach(
      (i) => io.stdout(formatIssue(i)),
    );
    return 'invalid';
  }
  return describedPosture(result.data, at);
}

/**
 * `--grant NAME`: the described person holds that grant (SPEC §13). Only names a `jit` of the
 * routes file declares: any other could never be held, and a typo would explain nothing.
 */
function heldGrants(
  names: readonly string[],
  table: RouteTable,
  identity: Identity | undefined,
): string[] {
  if (names.length === 0) return [];
  if (identity === undefined)
    throw new UsageError('--grant needs --user: only a signed-in person holds grants');
  if (identity.workload !== undefined)
    throw new UsageError('--grant cannot go with --issuer: workloads never hold grants');
  const declared = [...table.offers.keys()];
  for (const name of names) {
    if (declared.includes(name)) continue;
    const guess = suggestClosest(name, declared);
    throw new UsageError(
      `--grant ${name}: no jit in the routes file declares this grant (${declared.length > 0 ? `declared: ${declared.join(', ')}` : 'none are declared'})${guess === undefined ? '' : `; did you mean "${guess}"?`}`,
    );
  }
  return [...new Set(names)];
}

/** `just now`, `10m ago`: whole seconds, the way people read ages. */
function ago(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds <= 0 ? 'just now' : `${formatDuration(seconds * 1000)} ago`;
}

function identityLine(identity: Identity | undefined, at: number): string {
  if (identity === undefined) return 'anonymous (no --user)';
  if (identity.workload !== undefined)
    return `workload ${identity.sub}, token from service_tokens entry ${identity.workload.name ?? '(unnamed)'}`;
  const authTime = identity.claims.auth_time as number;
  const amr = (identity.claims.amr as string[]).join(', ');
  return `${identity.email ?? identity.sub}, groups [${identity.groups?.join(', ') ?? ''}], amr [${amr}], signed in ${ago(at - authTime * 1000)}`;
}

function postureLine(evidence: CollectedPosture | undefined, at: number): string {
  const posture = evidence?.facts;
  if (posture === undefined) return 'none (no --posture)';
  const flags = [
    posture.managed && 'managed',
    posture.diskEncrypted && 'disk encrypted',
    posture.edrRunning && 'EDR running',
    posture.firewall && 'firewall on',
  ].filter(Boolean);
  return `${posture.os ?? 'unknown OS'} ${posture.osVersion ?? ''}, ${flags.join(', ') || 'no protections reported'}, evidence from ${ago(at - posture.observedAt)}${evidence?.email === undefined ? '' : `, signed for ${evidence.email}`}`;
}

/**
 * `ztna-gateway explain`: which route a request matches, what the gateway decides, and why,
 * condition by condition. Exits 0 when the request would be allowed, 1 otherwise.
 */
export async function runExplain(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS, io.env);
  const v = values as Record<string, string | boolean | string[] | undefined>;
  if (typeof v.url !== 'string') throw new UsageError('--url is required');
  const at = typeof v.at === 'string' ? Date.parse(v.at) : Date.now();
  if (Number.isNaN(at))
    throw new UsageError(
      `--at ${String(v.at)}: expected an ISO time like 2026-11-23T10:00:00+01:00`,
    );
  const authAgeMs = typeof v['auth-age'] === 'string' ? parseDuration(v['auth-age']) : undefined;
  if (v['auth-age'] !== undefined && authAgeMs === undefined)
    throw new UsageError(`--auth-age ${String(v['auth-age'])}: expected a duration like 10m`);

  const table = await loadRoutesForCli(
    (v.routes as string | undefined) ?? 'routes.yaml',
    v.config as string | undefined,
    io,
  );
  if (table === undefined) return EXIT_FAILURE;
  const posture = typeof v.posture === 'string' ? await readPosture(v.posture, at, io) : undefined;
  if (posture === 'invalid') return EXIT_FAILURE;

  const user = v.user as string | undefined;
  const identity =
    user === undefined
      ? undefined
      : describedIdentity(
          {
            ...(user.includes('@') ? { email: user } : { sub: user }),
            groups: typeof v.groups === 'string' ? v.groups.split(',').filter(Boolean) : undefined,
            mfa: v.mfa === true,
            authAgeMs,
            claims: Object.fromEntries(((v.claim as string[] | undefined) ?? []).map(parseClaim)),
            // --issuer: the user is a workload with a token of this service_tokens entry.
            issuer: v.issuer as string | undefined,
          },
          at,
        );
  // The device the signed-in session is bound to (SPEC §6): its requests then need evidence
  // from that device.
  const sessionDevice = v['session-device'] as string | undefined;
  if (sessionDevice !== undefined && identity === undefined)
    throw new UsageError('--session-device needs --user: only a signed-in session is bound');
  const grants = heldGrants((v.grant as string[] | undefined) ?? [], table, identity);
  const method = ((v.method as string | undefined) ?? 'GET').toUpperCase();
  const request = { method, url: v.url, ip: (v.ip as string | undefined) ?? '127.0.0.1', at };
  const session = { deviceId: sessionDevice, grants };
  const simulation = await simulate(table, request, identity, posture, session);
  const explained = await explainGrants(table, request, identity, posture, session, simulation);

  io.stdout(
    `request   ${method} ${v.url}  from ${(v.ip as string | undefined) ?? '127.0.0.1'} at ${new Date(at).toISOString()}`,
  );
  if (simulation.refusal !== undefined) {
    io.stdout(`refused   400 before any policy: ${simulation.refusal}`);
  } else {
    io.stdout(
      `canonical ${simulation.host!.host} ${simulation.target!.path}${simulation.target!.query}`,
    );
    const route = simulation.route;
    io.stdout(
      route === undefined
        ? 'route     none (404)'
        : `route     ${route.name} (${route.host}${route.path === '/' ? '' : route.path}) → ${route.upstream.href}${route.mode === 'audit' ? '  [audit mode]' : ''}${route.public ? '  [public]' : ''}`,
    );
    if (simulation.policyLabel !== undefined) {
      io.stdout(
        `policy    ${simulation.policyLabel === 'policy' ? 'the route policy' : `${simulation.policyLabel} (replaces the route policy for this path/method)`}`,
      );
    }
    io.stdout(`identity  ${identityLine(identity, at)}`);
    if (sessionDevice !== undefined) io.stdout(`session   bound to device ${sessionDevice}`);
    if (grants.length > 0)
      io.stdout(`session   holds grant${grants.length > 1 ? 's' : ''} ${grants.join(', ')}`);
    io.stdout(`posture   ${postureLine(posture, at)}`);
    if (simulation.trace.length > 0) {
      io.stdout('trace');
      traceLines(simulation).forEach((line) => io.stdout(line));
    }
  }
  io.stdout(`decision  ${decisionLine(simulation)}`);
  grantLines(explained, simulation).forEach((line, i) =>
    io.stdout(`${i === 0 ? 'grants   ' : '         '} ${line}`),
  );
  return simulation.decision.effect === 'allow' ? EXIT_OK : EXIT_FAILURE;
}
