import express from 'express';
import type { JWK } from 'jose';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { challenge } from './auth/authenticate.js';
import { createCallbackHandler } from './auth/oidc-callback.js';
import type { CallbackDeps } from './auth/oidc-callback.js';
import { createLoginHandler } from './auth/oidc-login.js';
import { createLogoutHandlers } from './auth/logout.js';
import type { LogoutDeps } from './auth/logout.js';
import { contextOf } from './context.js';
import type { CanonicalTarget } from './routing/canonicalize.js';
import { rateLimitKey } from './limits/rate-limiter.js';
import type { RateLimiter } from './limits/rate-limiter.js';
import { errorPage } from './pages/error.js';
import { mePage } from './pages/me.js';
import type { Middleware } from './pages/render.js';

export interface ReservedDeps extends CallbackDeps, Pick<LogoutDeps, 'onSessionEnded'> {
  readonly cookieDomain: string | undefined;
  readonly sessionMaxAgeMs: number;
  /** Security headers for gateway pages (helmet). */
  readonly pageSecurity: Middleware;
  /** Public keys of the identity assertion, served at /.ztna/jwks.json. */
  readonly jwks: { readonly keys: readonly JWK[] };
  /** Bounds /.ztna/login and /.ztna/callback per client: each costs the IdP and the store. */
  readonly signInLimiter: RateLimiter;
}

/**
 * Refuses sign-in requests beyond the client's rate (429 with Retry-After) before they reach
 * the IdP or the session store: a flood from one address costs a map lookup.
 */
function limitSignIns(deps: ReservedDeps, endpoint: 'login' | 'callback'): RequestHandler {
  return function rateLimited(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(req);
    const verdict = deps.signInLimiter.take(rateLimitKey(context.clientIp), deps.now());
    if (verdict.ok) return next();
    deps.metrics.rateLimited.inc({ endpoint });
    context.outcome = 'error';
    context.note = `rate_limited:${endpoint}`;
    res.setHeader('Retry-After', String(verdict.retryAfterS));
    deps.sendPage(req, res, errorPage('ZTNA_ERR_RATE_LIMITED'), context.requestId);
  };
}

/** Whether a canonical target is under the gateway's reserved prefix `/.ztna/` (SPEC §2 step 2). */
export function isReserved(target: CanonicalTarget): boolean {
  return target.segments[0] === '.ztna';
}

/**
 * The gateway's own endpoints on every route host (SPEC §9). Anything else under `/.ztna/`
 * is a 404 from the gateway: reserved paths never reach an upstream.
 */
export function createReservedEndpoints(deps: ReservedDeps): RequestHandler {
  const logout = createLogoutHandlers(deps);
  const router = express.Router({ caseSensitive: true, strict: true });
  router.use(deps.pageSecurity);
  router.get('/.ztna/login', limitSignIns(deps, 'login'), createLoginHandler(deps));
  router.get('/.ztna/callback', limitSignIns(deps, 'callback'), createCallbackHandler(deps));
  router.get('/.ztna/logout', logout.confirm);
  router.post(
    '/.ztna/logout',
    express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 8 }),
    logout.logout,
  );
  router.get('/.ztna/signed-out', logout.signedOut);
  // SPEC §8: upstreams verify the identity assertion with these keys. Public, cacheable a while:
  // rotation publishes the new key before it signs (see docs/configuration.md).
  router.get('/.ztna/jwks.json', (req: Request, res: Response) => {
    const context = contextOf(req);
    context.outcome = 'public';
    context.note = 'jwks';
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(deps.jwks);
  });
  router.get('/.ztna/me', async (req: Request, res: Response) => {
    const context = contextOf(req);
    const session = req.session;
    if (session?.user === undefined || session.createdAt === undefined) {
      return challenge(req, res, context, deps.sendPage, {
        kind: 'unauthenticated',
        note: 'unauthenticated',
      });
    }
    context.identity = session.user;
    context.auth = 'session';
    context.outcome = 'allow';
    context.note = 'me';
    const now = deps.now();
    const posture = await deps.collectPosture(req, context.peerIp, context.requestId, now);
    const verdicts = [...context.table.postureProfiles].map(([profile, check]) => ({
      profile,
      failed: check(posture.facts, now),
    }));
    const facts = {
      createdAt: session.createdAt,
      expiresAt: session.createdAt + deps.sessionMaxAgeMs,
      deviceId: session.deviceId,
    };
    deps.sendPage(req, res, mePage(session.user, facts, posture, verdicts, now), context.requestId);
  });
  router.use((req: Request, res: Response) => {
    const context = contextOf(req);
    context.outcome = 'error';
    context.note = 'reserved_not_found';
    deps.sendPage(req, res, errorPage('ZTNA_ERR_ROUTE_NOT_FOUND'), context.requestId);
  });

  return function reservedEndpoints(req: Request, res: Response, next: NextFunction): void {
    if (isReserved(contextOf(req).target!)) router(req, res, next);
    else next();
  };
}
