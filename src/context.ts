import type { IncomingMessage } from 'node:http';
import type { RouteTable, CompiledRoute } from './config/route-table.js';
import type { RequestDecision } from './metrics/registry.js';
import type { Decision } from './policy/reasons.js';
import type { Identity } from './policy/types.js';
import type { CollectedPosture } from './posture/collect.js';
import type { BindingVerdict } from './posture/device-binding.js';
import type { CanonicalHost, CanonicalTarget } from './routing/canonicalize.js';

/**
 * Everything the pipeline learns about one request, step by step (oauth2-proxy's RequestScope).
 * One object per request, kept in a WeakMap so that both express requests and raw WebSocket
 * upgrades carry the same context.
 */
export interface RequestContext {
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
  host?: CanonicalHost;
  target?: CanonicalTarget;
  route?: CompiledRoute;
  identity?: Identity;
  auth?: 'session' | 'bearer';
  /** The client's Authorization header was a bearer token the gateway consumed: not forwarded. */
  consumedAuthorization?: boolean;
  /** Device evidence collected for this request (SPEC §6). */
  posture?: CollectedPosture;
  /** How the evidence relates to the session's device and user. */
  deviceVerdict?: BindingVerdict;
  decision?: Decision;
  /** What `ztna_requests_total` counts this request as; set by whichever step answered. */
  outcome?: RequestDecision;
  /** Reason for the audit line when no policy decision was reached (`bad_target:…`, `no_route`). */
  note?: string;
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

/** The origin the client addressed (`https://wiki.corp.example:8443`). */
export function originOf(context: RequestContext): string {
  if (context.host === undefined)
    throw new TypeError('origin needed before the host was canonicalized');
  return `${context.scheme}://${context.host.authority}`;
}
