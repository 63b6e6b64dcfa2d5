import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { headerKey } from '../lib/property-key.js';
import { compilePolicy } from '../policy/compile.js';
import type { JitOffer } from '../jit/offer.js';
import { compilePostureProfile } from '../posture/profile.js';
import type { PostureProfile } from '../posture/profile.js';
import type { CompileContext } from '../policy/compile.js';
import { orderSubRules } from '../policy/route-access.js';
import type { CompiledAccess } from '../policy/route-access.js';
import { canonicalizeTarget } from '../routing/canonicalize.js';
import { createRouteIndex } from '../routing/route-index.js';
import type { RouteIndex } from '../routing/route-index.js';
import type { ConfigIssue } from './issues.js';
import { issueAt, parseRoutes, readConfigText } from './load.js';
import type { GatewaySettings } from './gateway-settings.js';
import type { ServiceTokenNames } from './routes-cross-checks.js';
import type { RouteConfig, RoutesFile } from './routes-schema.js';

/** A route ready for the request path: everything parsed, compiled and read at load time. */
export interface CompiledRoute {
  readonly name: string;
  readonly host: string;
  readonly path: string;
  readonly pathSegments: readonly string[];
  readonly upstream: URL;
  readonly stripPrefix: boolean;
  readonly preserveHost: boolean;
  readonly websockets: boolean;
  /** `allow_double_encoding`: `%252F`-style sequences in the path are forwarded, not refused. */
  readonly allowDoubleEncoding: boolean;
  /** Origins (besides the route's own) whose pages may open its WebSockets, normalized. */
  readonly allowedOrigins: ReadonlySet<string>;
  readonly timeoutMs: number;
  /**
   * For an https upstream: the PEM text of a private CA (undefined: the system CAs); the TLS
   * name to send (`server_name`, else the upstream's host name; none for an IP address); and
   * the identity its certificate must carry (that name, or the IP address). Never the
   * client's Host, which preserve_host forwards.
   */
  readonly upstreamTls:
    | {
        readonly ca: string | undefined;
        readonly serverName: string | undefined;
        readonly identity: string;
      }
    | undefined;
  readonly public: boolean;
  /** `audit`: would-be denials are logged and counted but let through (SPEC §4.2). */
  readonly mode: 'enforce' | 'audit';
  /** The credentials the route accepts. */
  readonly auth: ReadonlySet<'session' | 'bearer'>;
  /** Lower-case names of the headers the upstream reads the identity from. */
  readonly identityHeaders: {
    readonly user: string;
    readonly email: string;
    readonly groups: string;
  };
  /** The route policy and its sub-rules, compiled. */
  readonly access: CompiledAccess;
}

/** One immutable version of routes.yaml. Hot reload swaps whole tables, never parts. */
export interface RouteTable {
  readonly routes: readonly CompiledRoute[];
  readonly index: RouteIndex<CompiledRoute>;
  /** First 12 hex digits of the SHA-256 of the file text (the `ztna_config_info` label). */
  readonly hash: string;
  /**
   * Every identity header name any route uses (lower-case): all are stripped from every client
   * request, since an upstream may trust one whatever route it is reached through.
   */
  readonly identityHeaderNames: ReadonlySet<string>;
  /** What each just-in-time grant is, by name: its route, limits and approvers (SPEC §13). */
  readonly offers: ReadonlyMap<string, JitOffer>;
  /** The named posture profiles, compiled (for /.ztna/me's verdicts). */
  readonly postureProfiles: ReadonlyMap<string, PostureProfile>;
  readonly warnings: readonly ConfigIssue[];
}

function segmentsOf(path: string): readonly string[] {
  const result = canonicalizeTarget(path);
  if (!result.ok) throw new TypeError(`route path ${path} was not validated`);
  return result.target.segments;
}

function compileAccess(route: RouteConfig, context: CompileContext): CompiledAccess {
  const subRules = (route.rules ?? []).map((rule, i) => ({
    label: `rules[${i}]`,
    pathSegments: rule.path === undefined ? undefined : segmentsOf(rule.path),
    methods: rule.methods === undefined ? undefined : new Set(rule.methods),
    policy: compilePolicy(rule.policy, context, `rules[${i}].`),
    jit: rule.jit?.grant,
  }));
  const policy = route.policy && compilePolicy(route.policy, context);
  const uses = (what: 'usesPosture' | 'usesGrants') =>
    (policy?.[what] ?? false) || subRules.some((rule) => rule.policy[what]);
  return {
    policy,
    subRules: orderSubRules(subRules),
    usesPosture: uses('usesPosture'),
    usesGrants: uses('usesGrants'),
    jit: route.jit?.grant,
  };
}

type JitConfig = NonNullable<RouteConfig['jit']>;

function compileOffer(route: RouteConfig, label: string, jit: JitConfig): JitOffer {
  return {
    grant: jit.grant,
    maxDurationMs: jit.max_duration,
    approvers: {
      groups: new Set(jit.approvers.groups ?? []),
      emails: new Set((jit.approvers.emails ?? []).map((e) => e.toLowerCase())),
    },
    requireReason: jit.require_reason,
    route: route.name,
    host: route.host,
    label,
  };
}

/** Every `jit` of the file by grant name (`check` makes each name declared once). */
function compileOffers(routes: readonly RouteConfig[]): Map<string, JitOffer> {
  const offers = new Map<string, JitOffer>();
  for (const route of routes) {
    if (route.jit !== undefined) offers.set(route.jit.grant, compileOffer(route, 'jit', route.jit));
    (route.rules ?? []).forEach((rule, i) => {
      if (rule.jit !== undefined)
        offers.set(rule.jit.grant, compileOffer(route, `rules[${i}].jit`, rule.jit));
    });
  }
  return offers;
}

function compileRoute(
  route: RouteConfig,
  defaults: RoutesFile['defaults'],
  ca: string | undefined,
  context: CompileContext,
): CompiledRoute {
  return {
    name: route.name,
    host: route.host,
    path: route.path,
    pathSegments: segmentsOf(route.path),
    upstream: new URL(route.upstream),
    stripPrefix: route.strip_prefix,
    preserveHost: route.preserve_host,
    websockets: route.websockets,
    allowDoubleEncoding: route.allow_double_encoding,
    allowedOrigins: new Set((route.allowed_origins ?? []).map((o) => new URL(o).origin)),
    timeoutMs: route.timeout,
    upstreamTls: upstreamTlsOf(route, ca),
    public: route.public,
    mode: route.mode ?? defaults.mode,
    auth: new Set(route.auth ?? defaults.auth),
    identityHeaders: {
      user: headerKey(route.identity_headers?.user ?? 'X-Forwarded-User'),
      email: headerKey(route.identity_headers?.email ?? 'X-Forwarded-Email'),
      groups: headerKey(route.identity_headers?.groups ?? 'X-Forwarded-Groups'),
    },
    access: compileAccess(route, context),
  };
}

function upstreamTlsOf(route: RouteConfig, ca: string | undefined): CompiledRoute['upstreamTls'] {
  const upstream = new URL(route.upstream);
  if (upstream.protocol !== 'https:') return undefined;
  // URL keeps IPv6 literals in brackets: `[::1]`.
  const host = upstream.hostname.replace(/^\[(.*)\]$/, '$1');
  const serverName = route.upstream_tls?.server_name ?? (isIP(host) === 0 ? host : undefined);
  return { ca, serverName, identity: serverName ?? host };
}

/** What compiling routes needs beyond routes.yaml itself. */
export interface CompileOptions {
  /**
   * gateway.yaml `idp.mfa_acr_values`. Required, not defaulted: a table compiled without them
   * would silently never accept an `acr` as MFA (every caller must say what its IdP sends).
   */
  readonly mfaAcrValues: readonly string[];
  /** PEM text of each `upstream_tls.ca_file`, by the name written in routes.yaml. */
  readonly cas?: ReadonlyMap<string, string>;
  readonly warnings?: readonly ConfigIssue[];
}

/** Compiles validated routes into a table: route index, compiled policies, posture profiles. */
export function compileRouteTable(
  file: RoutesFile,
  text: string,
  options: CompileOptions,
): RouteTable {
  const cas = options.cas ?? new Map<string, string>();
  const context: CompileContext = {
    postureProfiles: new Map(Object.entries(file.posture_profiles)),
    mfaAcrValues: options.mfaAcrValues,
    segmentsOf,
  };
  const routes = file.routes.map((r) =>
    compileRoute(
      r,
      file.defaults,
      r.upstream_tls?.ca_file && cas.get(r.upstream_tls.ca_file),
      context,
    ),
  );
  const warnings = options.warnings ?? [];
  return {
    routes,
    index: createRouteIndex(routes),
    hash: hashRoutesText(text),
    identityHeaderNames: new Set(routes.flatMap((r) => Object.values(r.identityHeaders))),
    offers: compileOffers(file.routes),
    postureProfiles: new Map(
      Object.entries(file.posture_profiles).map(([name, spec]) => [
        name,
        compilePostureProfile(spec),
      ]),
    ),
    warnings,
  };
}

/** The version label of a routes.yaml text: first 12 hex digits of its SHA-256. */
export function hashRoutesText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

export type RouteTableResult =
  | { readonly ok: true; readonly table: RouteTable }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** What loading routes.yaml needs to know of gateway.yaml. */
export interface GatewayFacts {
  /**
   * `idp.mfa_acr_values`. Required, not defaulted: a table compiled without them would
   * silently never accept an `acr` as MFA (every caller must say what its IdP sends).
   */
  readonly mfaAcrValues: readonly string[];
  /**
   * The names of the service_tokens entries, checked against `issuers` conditions; undefined
   * only where gateway.yaml is not known (`explain`/`test` without `--config`).
   */
  readonly serviceTokens: ServiceTokenNames | undefined;
}

/** The facts of a resolved gateway.yaml that routes.yaml is checked against. */
export function gatewayFactsOf(settings: GatewaySettings): GatewayFacts {
  return {
    mfaAcrValues: settings.idp.mfaAcrValues,
    serviceTokens: settings.serviceTokens.map((entry) => entry.name),
  };
}

/**
 * Reads, validates and compiles routes.yaml, including the CA files it names (relative to the
 * routes file). Never throws on bad input: a bad file is a list of issues, and the caller keeps
 * whatever table it had.
 */
export async function loadRouteTable(
  file: string,
  gateway: GatewayFacts,
): Promise<RouteTableResult> {
  const read = await readConfigText(file);
  if ('issues' in read) return { ok: false, issues: read.issues };
  return buildRouteTable(file, read.text, gateway);
}

/** Like loadRouteTable, for text already read (the reloader reads each version once). */
export async function buildRouteTable(
  file: string,
  text: string,
  gateway: GatewayFacts,
): Promise<RouteTableResult> {
  const loaded = parseRoutes(file, text, gateway.serviceTokens);
  if (!loaded.ok) return loaded;
  const cas = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  for (const [i, route] of loaded.value.routes.entries()) {
    const caFile = route.upstream_tls?.ca_file;
    if (caFile === undefined || cas.has(caFile)) continue;
    try {
      cas.set(caFile, await readFile(resolve(dirname(file), caFile), 'utf8'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      issues.push(
        issueAt(
          loaded.source,
          ['routes', i, 'upstream_tls', 'ca_file'],
          `cannot be read (${code})`,
        ),
      );
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    table: compileRouteTable(loaded.value, text, {
      cas,
      warnings: loaded.warnings,
      mfaAcrValues: gateway.mfaAcrValues,
    }),
  };
}
