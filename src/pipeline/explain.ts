import type { SessionData } from 'express-session';
import type { CompiledRoute, RouteTable } from '../config/route-table.js';
import type { TraceEntry } from '../policy/evaluate.js';
import { ALLOW_PUBLIC } from '../policy/reasons.js';
import type { Decision } from '../policy/reasons.js';
import { selectPolicy } from '../policy/route-access.js';
import type { Identity } from '../policy/types.js';
import type { CollectedPosture } from '../posture/collect.js';
import type { CanonicalHost, CanonicalTarget } from '../routing/canonicalize.js';
import { parseForwardedAddress, UNKNOWN_CLIENT } from '../lib/forwarded.js';
import type { Answer } from './answer.js';
import { newContext } from './context.js';
import type { RequestHead } from './context.js';
import { runPipeline } from './run.js';
import type { PipelineSources } from './sources.js';

/** A request as an admin describes it to `explain` or in a policy test case. */
export interface DescribedRequest {
  readonly method: string;
  /** Absolute: `https://wiki.corp.example/admin?x=1`. */
  readonly url: string;
  readonly ip: string;
  /** Epoch ms. */
  readonly at: number;
}

/** The session the described person's browser brings, beyond who they are (SPEC §6). */
export interface DescribedSession {
  /** The device the session was bound to (at sign-in or on its first evidence). */
  readonly deviceId?: string | undefined;
  /** Just-in-time grants the person holds (SPEC §13), running at the described time. */
  readonly grants?: readonly string[] | undefined;
}

/** What the gateway would do with it, step by step. */
export interface Simulation {
  readonly host?: CanonicalHost | undefined;
  readonly target?: CanonicalTarget | undefined;
  /** Why the request would be refused before any policy (400): the canonicalizer's reason. */
  readonly refusal?: string | undefined;
  readonly route?: CompiledRoute | undefined;
  /** `policy` or the sub-rule that replaced it (`rules[0]`); `gateway endpoint` under /.ztna/. */
  readonly policyLabel?: string | undefined;
  readonly decision: Decision;
  /** Every condition evaluated, for the admin to read. */
  readonly trace: readonly TraceEntry[];
  /** True when the route is in audit mode and the decision is not allow: it would go through. */
  readonly auditOnly: boolean;
  /** The grants the governing policy's allow rules test (SPEC §13): the ones that could matter. */
  readonly testedGrants?: readonly string[] | undefined;
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

/** The session, token and device the described person would bring: no store, no IdP, no clock. */
function describedSources(
  identity: Identity | undefined,
  posture: CollectedPosture | undefined,
  session: DescribedSession,
  at: number,
): PipelineSources {
  const nothing = () => undefined;
  return {
    now: () => at,
    // A workload (described with an issuer) brings its token, which only bearer routes read,
    // as in serving. A person is a browser on a route that takes sessions; on a bearer-only
    // route, a service.
    bearerToken: (_head, route) => {
      if (identity === undefined) return undefined;
      const asService =
        identity.workload !== undefined ? route.auth.has('bearer') : !route.auth.has('session');
      return asService ? 'described' : undefined;
    },
    verifyBearer: async () =>
      identity === undefined ? { ok: false, reason: 'malformed' } : { ok: true, identity },
    readSession: async () =>
      identity === undefined || identity.workload !== undefined
        ? undefined
        : {
            id: 'described',
            data: {
              user: identity,
              createdAt: at,
              ...(session.deviceId !== undefined && { deviceId: session.deviceId }),
            } as SessionData,
          },
    touchSession: nothing,
    saveSession: async () => true,
    endSession: async () => undefined,
    refreshSession: async () => 'fresh',
    collectPosture: async () => posture ?? { source: 'none', facts: undefined, email: undefined },
    grantsOf: async (person) =>
      (session.grants ?? []).map((grant) => ({
        id: `described:${grant}`,
        grant,
        user: { sub: person.sub },
        grantedAt: at,
        expiresAt: at + 3_600_000,
        grantedBy: 'described',
        reason: '',
      })),
    pendingRequestOf: async () => undefined,
    grantUsed: nothing,
    observe: { credentialAge: nothing, authEvent: nothing, warn: nothing, failure: nothing },
  };
}

/**
 * The decision `explain` and `test` report for an answer without a policy decision. These
 * names predate the single pipeline and users' routes.test.yaml files rely on them.
 */
function decisionOfAnswer(answer: Answer): Decision {
  switch (answer.answer) {
    case 'deny':
    case 'step_up':
      return answer.decision;
    case 'challenge':
      // A session that left its device must sign in again (SPEC §6): said as such, so an
      // admin can tell it from a request without any session.
      if (answer.note === 'device_missing' || answer.note === 'device_changed')
        return { effect: 'deny', reason: `deny:${answer.note}` };
      return { effect: 'deny', reason: 'deny:unauthenticated' };
    case 'page':
    case 'refuse':
      return {
        effect: 'deny',
        reason: answer.code === 'ZTNA_ERR_ROUTE_NOT_FOUND' ? 'deny:no_route' : 'deny:bad_request',
      };
  }
}

/**
 * Runs a described request through the very pipeline `serve` runs (SPEC §2 steps 1 to 5), with
 * sources that answer from the description, and records a trace. No I/O; `at` is the clock.
 */
export async function simulate(
  table: RouteTable,
  request: DescribedRequest,
  identity: Identity | undefined,
  posture: CollectedPosture | undefined,
  session: DescribedSession = {},
): Promise<Simulation> {
  const trace: TraceEntry[] = [];
  const split = splitUrl(request.url);
  if (split === undefined)
    return {
      refusal: 'not an absolute http(s) URL with a valid host',
      decision: { effect: 'deny', reason: 'deny:bad_request' },
      trace,
      auditOnly: false,
    };
  const head: RequestHead = {
    method: request.method,
    url: split.rawTarget,
    headers: { host: split.authority },
    rawHeaders: ['Host', split.authority],
  };
  // The address as serve reads it from a trusted proxy's X-Forwarded-For: canonical, without a
  // port, or unknown when it is no address (which matches no `ip` allow and every `ip` deny).
  const clientIp = parseForwardedAddress(request.ip) ?? UNKNOWN_CLIENT;
  const context = newContext(
    {
      requestId: 'explain',
      startedAt: 0,
      table,
      peerIp: clientIp,
      clientIp,
      scheme: request.url.toLowerCase().startsWith('https:') ? 'https' : 'http',
      method: request.method,
    },
    trace,
  );
  const result = await runPipeline(
    context,
    head,
    'explain',
    describedSources(identity, posture, session, request.at),
    { sessionMaxAgeMs: Number.POSITIVE_INFINITY },
  );
  const { host, target, route } = context;
  const refusal =
    context.note === 'bad_host'
      ? 'not an absolute http(s) URL with a valid host'
      : context.note?.startsWith('bad_target:')
        ? context.note.slice('bad_target:'.length)
        : undefined;
  if (result.kind === 'endpoint')
    return {
      host,
      target,
      decision: ALLOW_PUBLIC,
      trace,
      auditOnly: false,
      policyLabel: 'gateway endpoint',
    };
  const decision =
    result.kind === 'forward' ? result.context.decision : decisionOfAnswer(result.answer);
  const decided =
    result.kind === 'forward' ||
    result.answer.answer === 'deny' ||
    result.answer.answer === 'step_up';
  const governing =
    decided && route !== undefined && target !== undefined && !route.public
      ? selectPolicy(route.access, {
          identity,
          request: {
            method: request.method,
            path: target.path,
            segments: target.segments,
            ip: clientIp,
          },
        })
      : undefined;
  return {
    host,
    target,
    refusal,
    route,
    policyLabel: governing?.label,
    testedGrants: (governing?.policy?.allow ?? []).flatMap((rule) =>
      rule.decision.grant === undefined ? [] : [rule.decision.grant],
    ),
    decision,
    trace,
    auditOnly: context.outcome === 'audit_deny',
  };
}
