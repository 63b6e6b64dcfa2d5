import type { NextFunction, Request, Response } from 'express';
import type { SessionData } from 'express-session';
import { contextOf, originOf } from '../context.js';
import type { RequestContext } from '../context.js';
import { errorPage } from '../pages/error.js';
import type { PageSender } from '../pages/render.js';
import type { Metrics } from '../metrics/registry.js';
import type { Decision } from '../policy/reasons.js';
import type { Identity } from '../policy/types.js';
import { bearerTokenOf } from './bearer.js';
import type { BearerAuthenticator } from './bearer.js';
import type { TokenRefresher } from './refresh.js';

export interface AuthenticateDeps {
  readonly maxAgeMs: number;
  readonly authenticateBearer: BearerAuthenticator;
  /** Closes what lives on with a session (its WebSockets) once it is gone. */
  readonly onSessionEnded: (sid: string) => void;
  readonly refreshIfDue: TokenRefresher;
  readonly metrics: Metrics;
  readonly sendPage: PageSender;
  readonly now: () => number;
}

/**
 * SPEC §2 step 3 for browsers: a navigation (GET/HEAD asking for HTML) is sent to log in;
 * anything else (XHR, API clients, forms) gets 401, because a redirect would be followed
 * invisibly by a script or lose a request body.
 */
export function wantsLoginRedirect(req: Request): boolean {
  return (
    (req.method === 'GET' || req.method === 'HEAD') &&
    (req.headers.accept ?? '').includes('text/html')
  );
}

/** Why the client must (re)authenticate; a step-up names what the new login must bring. */
export type ChallengeReason =
  | { readonly kind: 'unauthenticated' | 'session_ended'; readonly note: string }
  | { readonly kind: 'step_up'; readonly decision: Decision };

/** The login URL; step-up parameters tell /.ztna/login what to ask the IdP for. */
function loginUrlFor(context: RequestContext, reason: ChallengeReason): string {
  const params = new URLSearchParams({ rd: context.target!.path + context.target!.query });
  if (reason.kind === 'step_up') {
    const need = reason.decision.stepUp;
    params.set('step_up', '1');
    if (need?.mfa) params.set('mfa', '1');
    if (need?.maxAgeMs !== undefined)
      params.set('max_age', String(Math.floor(need.maxAgeMs / 1000)));
  }
  return `${originOf(context)}/.ztna/login?${params.toString()}`;
}

/**
 * Sends the client to log in (302) or answers 401 with a `WWW-Authenticate` challenge. A
 * step-up (SPEC §5) is the same, asking for a fresh login with MFA or a recent `auth_time`.
 */
export function challenge(
  req: Request,
  res: Response,
  context: RequestContext,
  sendPage: PageSender,
  reason: ChallengeReason,
): void {
  const loginUrl = loginUrlFor(context, reason);
  context.outcome = 'login';
  context.note = reason.kind === 'step_up' ? reason.decision.reason : reason.note;
  if (wantsLoginRedirect(req)) {
    res.redirect(302, loginUrl);
    return;
  }
  // No standard scheme fits a cookie login; name ours and say where to log in (RFC 9110 §11.6.1).
  const error = reason.kind === 'step_up' ? ', error="step_up_required"' : '';
  res.setHeader('WWW-Authenticate', `ZTNA realm="ztna-gateway"${error}, login_url="${loginUrl}"`);
  const page = errorPage(
    reason.kind === 'step_up' ? 'ZTNA_ERR_STEP_UP_REQUIRED' : 'ZTNA_ERR_AUTH_REQUIRED',
  );
  const json = {
    ...page.json,
    login_url: loginUrl,
    ...(reason.kind === 'step_up' && { reason: reason.decision.reason }),
  };
  sendPage(req, res, { ...page, json }, context.requestId);
}

/**
 * Judges stored session data: the identity while the session is within its absolute max age,
 * `expired` after, undefined when there is no login. Pure, so WebSocket upgrades (which read
 * sessions outside express) judge exactly as HTTP requests do.
 */
export function judgeSession(
  data: Partial<SessionData> | undefined,
  now: number,
  maxAgeMs: number,
): { identity: Identity; ageMs: number } | 'expired' | undefined {
  if (data?.user === undefined || data.createdAt === undefined) return undefined;
  const ageMs = now - data.createdAt;
  return ageMs >= maxAgeMs || ageMs < 0 ? 'expired' : { identity: data.user, ageMs };
}

/** The identity of a live session, or undefined; a session past its absolute max age is ended. */
async function sessionIdentity(
  req: Request,
  deps: AuthenticateDeps,
): Promise<Identity | undefined> {
  const verdict = judgeSession(req.session, deps.now(), deps.maxAgeMs);
  if (verdict === 'expired') {
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    return undefined;
  }
  if (verdict === undefined) return undefined;
  deps.metrics.credentialAge.observe({ kind: 'session' }, verdict.ageMs / 1000);
  return verdict.identity;
}

/**
 * SPEC §2 step 3: establishes who is asking. Public routes skip it. Without a valid session,
 * the request ends here with a login redirect or a 401.
 */
/**
 * 401 for a bearer-only route (RFC 6750 §3): without a token the challenge names the realm only;
 * with a bad one it says `invalid_token` and why (a stable reason, never the token).
 */
export function bearerChallenge(
  req: Request,
  res: Response,
  context: RequestContext,
  sendPage: PageSender,
  reason: string | undefined,
): void {
  context.outcome = 'login';
  context.note = reason === undefined ? 'no_bearer_token' : `bearer:${reason}`;
  const error =
    reason === undefined ? '' : `, error="invalid_token", error_description="${reason}"`;
  res.setHeader('WWW-Authenticate', `Bearer realm="ztna-gateway"${error}`);
  const page = errorPage(
    reason === undefined ? 'ZTNA_ERR_BEARER_REQUIRED' : 'ZTNA_ERR_BEARER_INVALID',
  );
  sendPage(
    req,
    res,
    { ...page, json: { ...page.json, ...(reason !== undefined && { reason }) } },
    context.requestId,
  );
}

/**
 * SPEC §2 step 3: establishes who is asking. Public routes skip it. A route that accepts
 * `bearer` takes an `Authorization: Bearer` token when one is sent (services); otherwise, on
 * `session` routes, the browser session. Without a valid credential the request ends here:
 * a login redirect, or a 401 with the right challenge.
 */
export function createAuthenticate(deps: AuthenticateDeps) {
  async function withBearer(
    req: Request,
    res: Response,
    next: NextFunction,
    token: string,
  ): Promise<void> {
    const context = contextOf(req);
    const result = await deps.authenticateBearer(token, deps.now());
    if (!result.ok) return bearerChallenge(req, res, context, deps.sendPage, result.reason);
    context.identity = result.identity;
    context.auth = 'bearer';
    // The token was for the gateway: it is not passed on (SPEC §8).
    context.consumedAuthorization = true;
    next();
  }

  return async function authenticate(
    req: Request,
    res: Response,
    next: NextFunction,
  ): Promise<void> {
    const context = contextOf(req);
    const route = context.route!;
    if (route.public) return next();
    const token = route.auth.has('bearer') ? bearerTokenOf(req.headers) : undefined;
    if (token !== undefined) return withBearer(req, res, next, token);
    if (!route.auth.has('session'))
      return bearerChallenge(req, res, context, deps.sendPage, undefined);
    const identity = await sessionIdentity(req, deps);
    if (identity === undefined)
      return challenge(req, res, context, deps.sendPage, {
        kind: 'unauthenticated',
        note: 'unauthenticated',
      });
    // Continuous verification: expired IdP tokens are refreshed; a refusal ends the session.
    const refreshed = await deps.refreshIfDue(req);
    if (refreshed === 'rejected') {
      const sid = req.sessionID;
      await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
      deps.onSessionEnded(sid);
      return challenge(req, res, context, deps.sendPage, {
        kind: 'session_ended',
        note: 'refresh_rejected',
      });
    }
    context.identity = refreshed === 'refreshed' ? req.session.user! : identity;
    context.auth = 'session';
    next();
  };
}
