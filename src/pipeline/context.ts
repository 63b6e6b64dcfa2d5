import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { CompiledRoute, RouteTable } from '../config/route-table.js';
import type { RequestDecision } from '../metrics/registry.js';
import type { TraceEntry } from '../policy/evaluate.js';
import type { Decision } from '../policy/reasons.js';
import type { Identity } from '../policy/types.js';
import type { CollectedPosture } from '../posture/collect.js';
import type { BindingVerdict } from '../posture/device-binding.js';
import type { Grant } from '../jit/grants.js';
import type { CanonicalHost, CanonicalTarget } from '../routing/canonicalize.js';
import type { LoadedSession as LiveSession } from '../session/read-session.js';

/**
 * The parts of a request the steps read: a Node request for HTTP and upgrades, or one built
 * from an admin's description for `explain` and `test`. Nothing else of the transport leaks in.
 */
export interface RequestHead {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
}

/** Step 0: what is known when a request arrives. */
export interface Arrival {
  readonly requestId: string;
  /** `performance.now()` at arrival. */
  readonly startedAt: number;
  /** The route table in effect when the request arrived; it decides and forwards this request. */
  readonly table: RouteTable;
  /** The TCP peer. */
  readonly peerIp: string;
  /** The client, from X-Forwarded-For only when the peer is a trusted proxy. */
  readonly clientIp: string;
  readonly scheme: 'http' | 'https';
  readonly method: string;
}

/** Steps 1 and 2 done: a canonical target on a route (SPEC §2, §7). */
export interface Resolved extends RequestContext {
  readonly host: CanonicalHost;
  readonly target: CanonicalTarget;
  readonly route: CompiledRoute;
}

/** Step 3 done: who is asking; no identity only on public routes. */
export interface Authenticated extends Resolved {
  readonly identity: Identity | undefined;
  readonly auth: 'session' | 'bearer' | undefined;
  /** The browser session behind the identity, when it came from one. */
  readonly session: LiveSession | undefined;
  /** The client's Authorization header was a bearer token the gateway consumed: not forwarded. */
  readonly consumedAuthorization: boolean;
}

/** Step 4 done: the device's evidence and how it relates to the session. */
export interface Inspected extends Authenticated {
  readonly posture: CollectedPosture | undefined;
  readonly deviceVerdict: BindingVerdict | undefined;
}

/** Step 4b done: the person's just-in-time grants, read on routes that test grants only. */
export interface Granted extends Inspected {
  readonly grants: readonly Grant[] | undefined;
}

/** Step 5 done: the policy's decision, to be forwarded (allowed, or denied in audit mode). */
export interface Decided extends Granted {
  readonly decision: Decision;
  /** The grant the allowing rule used, if it tests one: the assertion and WebSockets carry it. */
  readonly usedGrant: Grant | undefined;
}

/**
 * Everything the pipeline learned about one request, whatever step it stopped at: what the
 * recorder (SPEC §2 step 6) writes. `outcome` and `note` are set by the driver from the step's
 * answer, in one place (pipeline/run.ts), never by the step that answered.
 */
export interface RequestContext extends Arrival {
  host?: CanonicalHost | undefined;
  target?: CanonicalTarget | undefined;
  route?: CompiledRoute | undefined;
  identity?: Identity | undefined;
  auth?: 'session' | 'bearer' | undefined;
  session?: LiveSession | undefined;
  consumedAuthorization?: boolean | undefined;
  posture?: CollectedPosture | undefined;
  deviceVerdict?: BindingVerdict | undefined;
  grants?: readonly Grant[] | undefined;
  decision?: Decision | undefined;
  usedGrant?: Grant | undefined;
  /** Every condition evaluated; collected for `explain` only. */
  trace?: TraceEntry[] | undefined;
  /** What `ztna_requests_total` counts this request as. */
  outcome?: RequestDecision | undefined;
  /** Reason for the audit line when no policy decision was reached (`bad_target:…`, `no_route`). */
  note?: string | undefined;
}

/**
 * A new context with every field the steps may set present from the start, in one order: all
 * contexts then share one hidden class, so the steps and the recorder read them with
 * monomorphic property loads (contexts that grew field by field in different orders made those
 * loads megamorphic, a visible cost in `perf` profiles under load).
 */
export function newContext(arrival: Arrival, trace?: TraceEntry[]): RequestContext {
  return {
    requestId: arrival.requestId,
    startedAt: arrival.startedAt,
    table: arrival.table,
    peerIp: arrival.peerIp,
    clientIp: arrival.clientIp,
    scheme: arrival.scheme,
    method: arrival.method,
    host: undefined,
    target: undefined,
    route: undefined,
    identity: undefined,
    auth: undefined,
    session: undefined,
    consumedAuthorization: undefined,
    posture: undefined,
    deviceVerdict: undefined,
    grants: undefined,
    decision: undefined,
    usedGrant: undefined,
    trace,
    outcome: undefined,
    note: undefined,
  };
}

/**
 * Adds a step's facts to the context and returns it typed at the next stage. The one place a
 * context grows: steps receive a stage type, so no step after routing sees an undefined route.
 */
export function advance<T extends RequestContext, F extends object>(context: T, facts: F): T & F {
  return Object.assign(context, facts);
}

const contexts = new WeakMap<IncomingMessage, RequestContext>();

export function attachContext(req: IncomingMessage, context: RequestContext): RequestContext {
  contexts.set(req, context);
  return context;
}

/** The request's context; a TypeError means a step ran before the pipeline started (a bug). */
export function contextOf(req: IncomingMessage): RequestContext {
  const context = contexts.get(req);
  if (context === undefined) throw new TypeError('request has no context: pipeline order bug');
  return context;
}

/** A request routed to the gateway's own endpoints: its canonical host and target are known. */
export type AddressedContext = RequestContext & {
  readonly host: CanonicalHost;
  readonly target: CanonicalTarget;
};

/** The context of a request the gateway's own endpoints answer (they run after routing). */
export function addressedContextOf(req: IncomingMessage): AddressedContext {
  const context = contextOf(req);
  if (!isAddressed(context))
    throw new TypeError('gateway endpoint reached before routing: pipeline order bug');
  return context;
}

function isAddressed(context: RequestContext): context is AddressedContext {
  return context.host !== undefined && context.target !== undefined;
}

/** The origin the client addressed (`https://wiki.corp.example:8443`). */
export function originOf(context: { scheme: string; host?: CanonicalHost | undefined }): string {
  if (context.host === undefined)
    throw new TypeError('origin needed before the host was canonicalized');
  return `${context.scheme}://${context.host.authority}`;
}
