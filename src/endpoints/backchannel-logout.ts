import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { LogoutTokenVerifier } from '../auth/backchannel-logout.js';
import type { Metrics } from '../metrics/registry.js';
import { contextOf } from '../pipeline/context.js';
import type { RevocationSource } from '../revocation/bus.js';
import { idpSessionKey, subjectKey } from '../session/store.js';
import type { GatewayStore } from '../session/store.js';

export interface BackchannelLogoutDeps {
  readonly verifyLogoutToken: LogoutTokenVerifier;
  readonly store: GatewayStore;
  /** Enforces the end of sessions already gone from the store on every instance. */
  readonly endSessions: (sids: readonly string[], source: RevocationSource) => number;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/**
 * §2.7: the sessions a logout token ends. A `sid` names one IdP session: the sessions signed in
 * through it, and only the token's user's when it names one too (an IdP's mixed-up sid never
 * ends another user's sessions). With a `sub`, that user's sessions that recorded no IdP
 * session (signed in before the gateway kept it, or through an IdP whose ID tokens carry no
 * `sid`) end too: they cannot be told apart. A `sub` alone ends all of that user's sessions.
 */
async function sessionsToEnd(
  store: GatewayStore,
  sid: string | undefined,
  sub: string | undefined,
): Promise<string[]> {
  if (sid === undefined) return store.revokeIndexed([subjectKey(sub!)]);
  const ofThisIdpSession = await store.revokeIndexed(
    [idpSessionKey(sid)],
    (data) => sub === undefined || data.user?.sub === sub,
  );
  if (sub === undefined) return ofThisIdpSession;
  const unmarked = await store.revokeIndexed(
    [subjectKey(sub)],
    (data) => data.idpSid === undefined,
  );
  return [...ofThisIdpSession, ...unmarked];
}

/** §2.8: a refusal is 400 with an OAuth-style error; the IdP logs it, a person never sees it. */
function refuse(res: Response, description: string): void {
  res.status(400).json({ error: 'invalid_request', error_description: description });
}

/**
 * `POST /.ztna/backchannel-logout` (OIDC Back-Channel Logout 1.0, SPEC §9): the IdP says one of
 * its sessions ended, or all of a user's. Every gateway session signed in through it ends, on
 * every instance. The logout token is the only credential: no cookie, no CSRF token.
 */
export function createBackchannelLogoutHandler(deps: BackchannelLogoutDeps): RequestHandler {
  return async function backchannelLogout(req: Request, res: Response): Promise<void> {
    const context = contextOf(req);
    res.setHeader('Cache-Control', 'no-store');
    const token = (req.body as Record<string, unknown> | undefined)?.logout_token;
    // Audited and counted as what it is: a request the gateway accepted or refused, not an error.
    context.outcome = 'deny';
    if (typeof token !== 'string' || token === '') {
      context.note = 'backchannel:no_token';
      return refuse(res, 'logout_token is required');
    }
    const verdict = await deps.verifyLogoutToken(token);
    if (!verdict.ok) {
      context.note = `backchannel:${verdict.reason}`;
      deps.log.warn(
        { request_id: context.requestId, reason: verdict.reason },
        'back-channel logout token refused',
      );
      return refuse(res, 'the logout token was refused');
    }
    const { sid, sub } = verdict.logout;
    if (sub !== undefined) context.identity = { sub, claims: {} };
    const sids = await sessionsToEnd(deps.store, sid, sub);
    deps.endSessions(sids, 'backchannel');
    if (sids.length > 0) deps.metrics.authEvents.inc({ event: 'revoked' }, sids.length);
    deps.log.info(
      {
        request_id: context.requestId,
        sub,
        by: sid !== undefined ? 'sid' : 'sub',
        revoked: sids.length,
      },
      'sessions ended by the IdP (back-channel logout)',
    );
    context.outcome = 'allow';
    context.note = 'backchannel:revoked';
    res.status(200).end();
  };
}
