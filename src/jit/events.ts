import type { AuditWriter } from '../audit/loggers.js';
import type { JitEvent, Metrics } from '../metrics/registry.js';
import type { AccessRequest, Grant } from './grants.js';
import { granteeName } from './grants.js';

/** What one step of just-in-time access was about. */
export interface JitRecord {
  readonly event: JitEvent;
  /** The request or grant the step acted on. */
  readonly subject: AccessRequest | Grant;
  /** Who acted: the requester, the approver, `admin`, or `gateway` for an expiry. */
  readonly by: string;
  /** Why: the requester's reason, a rejection's note, an admin's reason. */
  readonly reason?: string | undefined;
  /** The request id of the HTTP request that made the step, when one did. */
  readonly requestId?: string | undefined;
}

/**
 * Writes the audit line and counts the metric of each step (SPEC §10, §11, §13): who acted, for
 * whom, which grant, why, and until when. An audit line says `type: "audit"` like every other,
 * with `jit` naming the step; no secret is ever part of a request or grant.
 */
export function createJitRecorder(audit: AuditWriter, metrics: Metrics) {
  return function recordJit(record: JitRecord): void {
    const { subject } = record;
    const isGrant = 'expiresAt' in subject;
    metrics.jitEvents.inc({ event: record.event });
    audit.write({
      ...(record.requestId !== undefined && { request_id: record.requestId }),
      jit: record.event,
      grant: subject.grant,
      ...(isGrant ? { grant_id: subject.id } : { access_request_id: subject.id }),
      // A grant born of a request names it: the `approved` line joins the `requested` one.
      ...(isGrant && subject.requestId !== undefined && { access_request_id: subject.requestId }),
      ...(!isGrant && { route: subject.route }),
      for_sub: subject.user.sub ?? null,
      for_email: subject.user.email ?? null,
      for: granteeName(subject.user),
      by: record.by,
      reason: record.reason ?? subject.reason,
      ...(isGrant
        ? { expires_at: new Date(subject.expiresAt).toISOString() }
        : { duration_s: Math.round(subject.durationMs / 1000) }),
    });
  };
}

export type JitRecorder = ReturnType<typeof createJitRecorder>;
