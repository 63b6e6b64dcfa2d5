import express from 'express';
import type { JWK } from 'jose';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createCallbackHandler } from '../auth/oidc-callback.js';
import type { CallbackDeps } from '../auth/oidc-callback.js';
import { createLoginHandler } from '../auth/oidc-login.js';
import { createLogoutHandlers } from '../auth/logout.js';
import type { LogoutDeps } from '../auth/logout.js';
import { rateLimitKey } from '../limits/rate-limiter.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import { mePage } from '../pages/me.js';
import type { Middleware } from '../pages/render.js';
import type { Answer } from '../pipeline/answer.js';
import { addressedContextOf, contextOf } from '../pipeline/context.js';
import type { RequestContext } from '../pipeline/context.js';
import type { HttpRenderer } from '../pipeline/render-http.js';
import { identifyBrowser, settle } from '../pipeline/run.js';
import type { PipelineSources } from '../pipeline/sources.js';
import { isAnswer } from '../pipeline/answer.js';
import type { JitRecorder } from '../jit/events.js';
import type { GrantStore } from '../jit/grant-store.js';
import { granteeOf } from '../jit/grants.js';
import { createAccessHandlers } from './access.js';

export interface ReservedDeps
  extends Omit<CallbackDeps, 'onSignInFailed'>, Pick<LogoutDeps, 'onSessionEnded'> {
  readonly cookieDomain: string | undefined;
  readonly sessionMaxAgeMs: number;
  /** Security headers for gateway pages (helmet). */
  readonly pageSecurity: Middleware;
  /** Public keys of the identity assertion, served at /.ztna/jwks.json. */
  readonly jwks: { readonly keys: readonly JWK[] };
  /**
   * Failed sign-ins per client address (`limits.failed_signins_per_minute`): failures spend
   * from it; /.ztna/login and /.ztna/callback are refused while it is empty.
   */
  readonly signInLimiter: RateLimiter;
  readonly renderHttp: HttpRenderer;
  /** The pipeline's sources: /.ztna/me runs the same session steps as a route. */
  readonly sources: PipelineSources;
  /** `POST /.ztna/backchannel-logout`: the IdP ends sessions (endpoints/backchannel-logout.ts). */
  readonly backchannelLogout: RequestHandler;
  /** `POST /.ztna/ssf`: Shared Signals push delivery (endpoints/shared-signals.ts). */
  readonly sharedSignals: RequestHandler;
  /** Just-in-time requests and grants (SPEC §13): /.ztna/access and /.ztna/me. */
  readonly grants: GrantStore;
  readonly recordJit: JitRecorder;
}

/** Answers with a pipeline answer: recorded and rendered like any other. */
function answerWith(deps: ReservedDeps, req: Request, res: Response, answer: Answer): void {
  const context = contextOf(req);
  settle(context, answer);
  deps.renderHttp(req, res, answer, context);
}

/**
 * Refuses sign-in requests from an address that has used up its failed sign-ins (429 with
 * Retry-After) before they reach the IdP or the session store: a flood costs a map lookup.
 * Only failures spend (`countFailedSignIn`): a successful sign-in, a login start and a refused
 * request never do, so an office behind one address signing in together is never throttled,
 * while one that keeps failing (a state forger, a code replayer) is.
 */
function limitSignIns(deps: ReservedDeps, endpoint: 'login' | 'callback'): RequestHandler {
  return function rateLimited(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(req);
    const verdict = deps.signInLimiter.check(rateLimitKey(context.clientIp), deps.now());
    if (verdict.ok) return next();
    deps.metrics.rateLimited.inc({ endpoint });
    res.setHeader('Retry-After', String(verdict.retryAfterS));
    answerWith(deps, req, res, {
      answer: 'page',
      code: 'ZTNA_ERR_RATE_LIMITED',
      note: `rate_limited:${endpoint}`,
    });
  };
}

/**
 * The gateway's own endpoints on every route host (SPEC §9). Anything else under `/.ztna/`
 * is a 404 from the gateway: reserved paths never reach an upstream.
 */
export function createReservedEndpoints(deps: ReservedDeps): RequestHandler {
  const countFailedSignIn = (context: RequestContext): void => {
    deps.signInLimiter.take(rateLimitKey(context.clientIp), deps.now());
  };
  const signIn = { ...deps, onSignInFailed: countFailedSignIn };
  const logout = createLogoutHandlers(signIn);
  const router = express.Router({ caseSensitive: true, strict: true });
  router.use(deps.pageSecurity);
  router.get('/.ztna/login', limitSignIns(deps, 'login'), createLoginHandler(deps));
  router.get('/.ztna/callback', limitSignIns(deps, 'callback'), createCallbackHandler(signIn));
  router.get('/.ztna/logout', logout.confirm);
  router.post(
    '/.ztna/logout',
    express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 8 }),
    logout.logout,
  );
  router.get('/.ztna/signed-out', logout.signedOut);
  // Just-in-time access (SPEC §13): forms as small as the sign-out form, plus a reason.
  const access = createAccessHandlers(deps);
  router.get('/.ztna/access', access.page);
  router.post(
    '/.ztna/access/request',
    express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 8 }),
    access.request,
  );
  router.post(
    '/.ztna/access/decide',
    express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 8 }),
    access.decide,
  );
  router.post(
    '/.ztna/backchannel-logout',
    express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 4 }),
    deps.backchannelLogout,
  );
  router.post(
    '/.ztna/ssf',
    express.text({ type: 'application/secevent+jwt', limit: '64kb' }),
    deps.sharedSignals,
  );
  // SPEC §8: upstreams verify the identity assertion with these keys. Public, cacheable a while:
  // rotation publishes the new key before it signs (see docs/configuration.md).
  router.get('/.ztna/jwks.json', (req: Request, res: Response) => {
    const context = contextOf(req);
    context.outcome = 'public';
    context.note = 'jwks';
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(deps.jwks);
  });
  // Who am I: through the same session steps as any route, so it never shows a session that
  // has ended, or one used from another device (issue 12, item 3).
  router.get('/.ztna/me', async (req: Request, res: Response) => {
    const context = addressedContextOf(req);
    const known = await identifyBrowser(context, req, deps.sources, {
      sessionMaxAgeMs: deps.sessionMaxAgeMs,
    });
    if (isAnswer(known)) return answerWith(deps, req, res, known);
    const { data } = known.session;
    context.identity = data.user;
    context.auth = 'session';
    context.posture = known.posture;
    context.outcome = 'allow';
    context.note = 'me';
    const now = deps.now();
    const verdicts = [...context.table.postureProfiles].map(([profile, check]) => ({
      profile,
      failed: check(known.posture.facts, now),
    }));
    const grantee = granteeOf(data.user);
    const grants = grantee === undefined ? [] : await deps.grants.grantsOf(grantee, now);
    const facts = {
      createdAt: data.createdAt,
      expiresAt: data.createdAt + deps.sessionMaxAgeMs,
      deviceId: data.deviceId,
    };
    deps.sendPage(
      req,
      res,
      mePage(data.user, facts, known.posture, verdicts, grants, now),
      context.requestId,
    );
  });
  router.use((req: Request, res: Response) =>
    answerWith(deps, req, res, {
      answer: 'page',
      code: 'ZTNA_ERR_ROUTE_NOT_FOUND',
      note: 'reserved_not_found',
    }),
  );
  return router;
}
