import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AuditWriter } from './loggers.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Metrics } from '../metrics/registry.js';
import { postureResultOf } from './posture-result.js';
import { childPerValue } from '../metrics/route-meters.js';
import type { RouteMeters } from '../metrics/route-meters.js';

/** Route label for requests that matched no route (bounded, cannot collide: route names are [a-z0-9_-]). */
export const NO_ROUTE_LABEL = '(none)';

/**
 * Writes the audit line and counts the request (SPEC §2 step 6, §10, §11), for allow and deny
 * alike. Called once per request when its response is done, because only then are the status
 * and duration known; the decision itself was taken before anything was forwarded.
 */
export function createRecorder(audit: AuditWriter, metrics: Metrics, meters: RouteMeters) {
  const postureCheck = childPerValue((result) => metrics.postureChecks.labels({ result }));
  return function record(
    req: IncomingMessage,
    res: ServerResponse | undefined,
    context: RequestContext,
    status: number,
  ): void {
    const route = context.route?.name ?? NO_ROUTE_LABEL;
    const outcome = context.outcome ?? 'error';
    const seconds = (performance.now() - context.startedAt) / 1000;
    const meter = meters.of(route);
    meter.requests(outcome, status).inc();
    meter.duration.observe(seconds);
    const decision = context.decision;
    // Enforced and audit-only denials alike: audit mode exists to count what would be denied.
    if (decision !== undefined && (outcome === 'deny' || outcome === 'audit_deny')) {
      metrics.policyDenials.inc({ route, reason: decision.reason });
    }
    const posture = postureResultOf(context);
    if (posture === 'pass' || posture === 'fail' || posture === 'missing')
      postureCheck(posture).inc();
    const identity = context.identity;
    // Every SPEC §11 field on every line, null when it does not apply: one schema for the SIEM.
    audit.write({
      request_id: context.requestId,
      route,
      method: req.method ?? null,
      host: context.host?.host ?? null,
      path: context.target?.path ?? null,
      client_ip: context.clientIp,
      sub: identity?.sub ?? null,
      email: identity?.email ?? null,
      groups: identity?.groups ?? null,
      auth: context.auth ?? null,
      device_id: context.posture?.facts?.deviceId ?? null,
      posture: posture ?? null,
      decision: outcome,
      mode: context.route?.mode ?? 'enforce',
      reason: decision?.reason ?? context.note ?? null,
      status,
      duration_ms: Math.round(seconds * 1e6) / 1e3,
      ...(res === undefined && req.headers.upgrade !== undefined && { websocket: true }),
    });
  };
}

export type Recorder = ReturnType<typeof createRecorder>;
