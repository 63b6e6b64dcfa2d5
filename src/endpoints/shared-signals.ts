import { decodeJwt } from 'jose';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { JwtRejection, JwtVerifier } from '../auth/jwt-verifier.js';
import type { Metrics } from '../metrics/registry.js';
import { createReplayMemory } from '../lib/replay-memory.js';
import { contextOf } from '../pipeline/context.js';
import type { RevocationBus, RevocationSource } from '../revocation/bus.js';
import type { DeviceComplianceMarks } from '../signals/device-compliance.js';
import { readSignalActions } from '../signals/events.js';
import type { SignalAction, SignalSubject } from '../signals/events.js';
import { subjectKey } from '../session/store.js';
import type { GatewayStore } from '../session/store.js';

/** SETs are delivered as they happen; one older than this is a replay or a broken pipeline. */
export const MAX_SET_AGE_MS = 3_600_000;

export interface SharedSignalsDeps {
  /** Verifies SETs from the `shared_signals` transmitters (no `exp`, `iat` within the hour). */
  readonly verifySet: JwtVerifier;
  /** The audiences the transmitters address this gateway as (for RFC 8935 error codes). */
  readonly audiences: readonly string[];
  /** The IdP's issuer, as configured and without a trailing slash: `iss_sub` subjects name our users only under it. */
  readonly idpIssuers: readonly string[];
  /** The clock skew the SET verifier tolerates (replays are remembered that much longer). */
  readonly clockSkewMs: number;
  readonly store: GatewayStore;
  readonly endSessions: (sids: readonly string[], source: RevocationSource) => number;
  readonly devices: DeviceComplianceMarks;
  readonly revocations: RevocationBus;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
}

type SetError =
  | 'invalid_request'
  | 'invalid_key'
  | 'invalid_issuer'
  | 'invalid_audience'
  | 'authentication_failed';

/** RFC 8935 §2.3: the error codes a transmitter understands. */
function errorOf(
  reason: JwtRejection | 'replayed' | 'no_jti',
  token: string,
  deps: SharedSignalsDeps,
): SetError {
  switch (reason) {
    case 'unknown_issuer':
      return 'invalid_issuer';
    case 'unknown_key':
    case 'bad_signature':
    case 'bad_algorithm':
    case 'keys_unavailable':
      return 'invalid_key';
    case 'bad_claims': {
      let aud: unknown;
      try {
        aud = decodeJwt(token).aud;
      } catch {
        return 'invalid_request';
      }
      const audiences = Array.isArray(aud) ? aud : [aud];
      return audiences.some((a) => deps.audiences.includes(a as string))
        ? 'invalid_request'
        : 'invalid_audience';
    }
    default:
      return 'invalid_request';
  }
}

/** The index keys of a user subject's sessions. */
function keysOf(subject: SignalSubject): string[] {
  return [
    ...(subject.sub === undefined ? [] : [subjectKey(subject.sub)]),
    ...(subject.email === undefined ? [] : [`email:${subject.email}`]),
  ];
}

/**
 * `POST /.ztna/ssf` (SPEC §14): Security Event Tokens pushed by the `shared_signals`
 * transmitters (RFC 8935). CAEP session-revoked, RISC account-disabled and credential changes
 * end the subject's sessions on every instance; CAEP device-compliance-change to not-compliant
 * makes the device's evidence from before it fail everywhere until a newer report arrives.
 */
export function createSharedSignalsHandler(deps: SharedSignalsDeps): RequestHandler {
  /** Replays are refused as long as the verifier would accept the SET (max age plus skew). */
  const seen = createReplayMemory();

  async function apply(action: SignalAction): Promise<number> {
    if (action.kind === 'other') return 0;
    if (action.kind === 'device_compliance_change') {
      const id = action.subject.deviceId;
      if (id === undefined) return 0;
      const change = { id, since: action.at, compliant: action.compliant };
      deps.devices.apply(change);
      void deps.revocations.publish({ sids: [], source: 'ssf', at: Date.now(), devices: [change] });
      return 1;
    }
    const keys = keysOf(action.subject);
    if (keys.length === 0) return 0;
    const sids = await deps.store.revokeIndexed(keys);
    deps.endSessions(sids, 'ssf');
    if (sids.length > 0) deps.metrics.authEvents.inc({ event: 'revoked' }, sids.length);
    return sids.length;
  }

  function refuse(req: Request, res: Response, err: SetError, why: string): void {
    const context = contextOf(req);
    context.outcome = 'deny';
    context.note = `ssf:${why}`;
    deps.metrics.sharedSignals.inc({ event: 'other', result: 'rejected' });
    deps.log.warn({ request_id: context.requestId, err, reason: why }, 'shared signal refused');
    res.status(400).json({ err, description: `the security event token was refused (${why})` });
  }

  return async function receiveSignal(req: Request, res: Response): Promise<void> {
    const context = contextOf(req);
    res.setHeader('Cache-Control', 'no-store');
    const token = typeof req.body === 'string' ? req.body.trim() : '';
    if (!req.is('application/secevent+jwt') || token === '')
      return refuse(req, res, 'invalid_request', 'not_a_set');
    const verdict = await deps.verifySet.verify(token, deps.now());
    if (!verdict.ok) return refuse(req, res, errorOf(verdict.reason, token, deps), verdict.reason);
    const { jti, iat } = verdict.payload;
    if (typeof jti !== 'string' || jti === '') return refuse(req, res, 'invalid_request', 'no_jti');
    const seenBefore = seen.remember(
      `${verdict.issuer.issuer} ${jti}`,
      iat! * 1000 + MAX_SET_AGE_MS + deps.clockSkewMs,
      deps.now(),
    );
    if (seenBefore !== 'new') return refuse(req, res, 'invalid_request', seenBefore);

    const actions = readSignalActions(verdict.payload, deps.idpIssuers);
    if (actions.length === 0) return refuse(req, res, 'invalid_request', 'no_events');
    let affected = 0;
    for (const action of actions) {
      const count = await apply(action);
      affected += count;
      deps.metrics.sharedSignals.inc({ event: action.kind, result: 'applied' });
      deps.log.info(
        {
          request_id: context.requestId,
          transmitter: verdict.issuer.name ?? verdict.issuer.issuer,
          event: action.kind,
          ...(action.kind !== 'other' && {
            subject_email: action.subject.email,
            subject_sub: action.subject.sub,
            device_id: action.subject.deviceId,
          }),
          affected: count,
        },
        'shared signal applied',
      );
    }
    context.outcome = 'allow';
    context.note = affected > 0 ? 'ssf:applied' : 'ssf:no_match';
    // RFC 8935 §2.2: accepted (processing is the receiver's business).
    res.status(202).end();
  };
}
