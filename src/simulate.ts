import type { CompiledRoute, RouteTable } from './config/route-table.js';
import type { TraceEntry } from './policy/evaluate.js';
import { ALLOW_PUBLIC } from './policy/reasons.js';
import type { Decision } from './policy/reasons.js';
import { decideAccess, selectPolicy } from './policy/route-access.js';
import type { Identity, PolicyInput, PostureFacts } from './policy/types.js';
import { isReserved } from './reserved.js';
import { canonicalizeHost, canonicalizeTarget } from './routing/canonicalize.js';
import type { CanonicalHost, CanonicalTarget } from './routing/canonicalize.js';

/** A request as an admin describes it to `explain` or in a policy test case. */
export interface DescribedRequest {
  readonly method: string;
  /** Absolute: `https://wiki.corp.example/admin?x=1`. */
  readonly url: string;
  readonly ip: string;
  /** Epoch ms. */
  readonly at: number;
}

/** What the gateway would do with it, step by step. */
export interface Simulation {
  readonly host?: CanonicalHost;
  readonly target?: CanonicalTarget;
  /** Why the request would be refused before any policy (400): the canonicalizer's reason. */
  readonly refusal?: string;
  readonly route?: CompiledRoute;
  /** `policy` or the sub-rule that replaced it (`rules[0]`). */
  readonly policyLabel?: string;
  readonly decision: Decision;
  /** Every condition evaluated, for the admin to read. */
  readonly trace: readonly TraceEntry[];
  /** True when the route is in audit mode and the decision is not allow: it would go through. */
  readonly auditOnly: boolean;
}

/** Splits `scheme://authority/path?query` without normalizing the path (the canonicalizer does). */
function splitUrl(url: string): { authority: string; rawTarget: string } | undefined {
  const match = /^https?:\/\/([^/?#]*)(.*)$/i.exec(url);
  if (match === null) return undefined;
  const rest = match[2]!;
  return {
    authority: match[1]!,
    rawTarget: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest,
  };
}

const DENY = (reason: 'deny:bad_request' | 'deny:no_route' | 'deny:unauthenticated'): Decision => ({
  effect: 'deny',
  reason,
});

/**
 * Runs a described request through the same canonicalizer, route index and decision function
 * as `serve` (SPEC §2 steps 1, 2 and 5), recording a trace. Pure: no I/O, `at` is the clock.
 */
export function simulate(
  table: RouteTable,
  request: DescribedRequest,
  identity: Identity | undefined,
  posture: PostureFacts | undefined,
): Simulation {
  const trace: TraceEntry[] = [];
  const split = splitUrl(request.url);
  const host = split && canonicalizeHost(split.authority);
  if (split === undefined || host === undefined) {
    return {
      refusal: 'not an absolute http(s) URL with a valid host',
      decision: DENY('deny:bad_request'),
      trace,
      auditOnly: false,
    };
  }
  const canonical = canonicalizeTarget(split.rawTarget);
  if (!canonical.ok)
    return {
      host,
      refusal: canonical.rejection,
      decision: DENY('deny:bad_request'),
      trace,
      auditOnly: false,
    };
  const target = canonical.target;
  const route = table.index.match(host.host, target.segments);
  if (isReserved(target) && table.index.hasHost(host.host)) {
    return {
      host,
      target,
      refusal: undefined,
      decision: ALLOW_PUBLIC,
      trace,
      auditOnly: false,
      policyLabel: 'gateway endpoint',
    };
  }
  if (route === undefined)
    return { host, target, decision: DENY('deny:no_route'), trace, auditOnly: false };
  if (route.public) return { host, target, route, decision: ALLOW_PUBLIC, trace, auditOnly: false };
  if (identity === undefined)
    return { host, target, route, decision: DENY('deny:unauthenticated'), trace, auditOnly: false };
  const input: PolicyInput = {
    identity,
    request: {
      method: request.method,
      path: target.path,
      segments: target.segments,
      ip: request.ip,
    },
    posture,
  };
  const decision = decideAccess(route.access, input, request.at, trace);
  return {
    host,
    target,
    route,
    policyLabel: selectPolicy(route.access, input).label,
    decision,
    trace,
    auditOnly: route.mode === 'audit' && decision.effect !== 'allow',
  };
}

/** How an admin describes an identity (explain options, test cases). */
export interface IdentityDescription {
  readonly email?: string | undefined;
  readonly sub?: string | undefined;
  readonly groups?: readonly string[] | undefined;
  readonly emailVerified?: boolean | undefined;
  /** Shorthand for `amr: [pwd, otp]`. */
  readonly mfa?: boolean | undefined;
  readonly amr?: readonly string[] | undefined;
  readonly acr?: string | undefined;
  /** Time since the user authenticated at the IdP, in ms (sets `auth_time`). */
  readonly authAgeMs?: number | undefined;
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
}

/** Builds the identity a real login would produce from such a description. */
export function describedIdentity(description: IdentityDescription, at: number): Identity {
  const email = description.email?.toLowerCase();
  const sub = description.sub ?? description.email ?? 'anonymous';
  const amr = description.amr ?? (description.mfa ? ['pwd', 'otp'] : ['pwd']);
  const claims: Record<string, unknown> = {
    ...description.claims,
    sub,
    ...(email !== undefined && { email }),
    ...(description.groups !== undefined && { groups: [...description.groups] }),
    amr,
    ...(description.acr !== undefined && { acr: description.acr }),
    auth_time: Math.floor((at - (description.authAgeMs ?? 0)) / 1000),
  };
  return {
    sub,
    email,
    emailVerified: description.emailVerified,
    groups: description.groups,
    claims,
  };
}
