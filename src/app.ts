import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { createRecorder } from './audit/record.js';
import type { Loggers } from './audit/loggers.js';
import { challenge, createAuthenticate } from './auth/authenticate.js';
import { createAssertionSigner } from './assertion/sign.js';
import type { AssertionKeys } from './assertion/keys.js';
import { createBearerAuthenticator } from './auth/bearer.js';
import { createJwtVerifier } from './auth/jwt-verifier.js';
import { createLoginStateSealer } from './auth/login-state.js';
import type { OidcClient } from './auth/oidc-client.js';
import { createTokenRefresher } from './auth/refresh.js';
import type { GatewaySettings } from './config/gateway-settings.js';
import type { RouteTable } from './config/route-table.js';
import { contextOf } from './context.js';
import type { Metrics } from './metrics/registry.js';
import { denyPage } from './pages/deny.js';
import { errorPage } from './pages/error.js';
import { createPageSecurity, createPageSender } from './pages/render.js';
import { createRateLimiter } from './limits/rate-limiter.js';
import { createRequestStarter } from './pipeline/begin.js';
import { decideRequest, recentlySteppedUp } from './pipeline/decide.js';
import { createDeviceStep } from './pipeline/device.js';
import { createErrorHandler } from './pipeline/errors.js';
import { resolveRequest } from './pipeline/resolve.js';
import { createUpgradeHandler, refuseOnSocket } from './pipeline/upgrade.js';
import { createPostureCollector } from './posture/collect.js';
import { createPostureAssertionVerifier } from './posture/signed-assertion.js';
import type { AgentPool } from './proxy/agents.js';
import { createForwarder } from './proxy/forward.js';
import { createReservedEndpoints, isReserved } from './reserved.js';
import { createCookieNames } from './session/cookie-names.js';
import { createSessionMiddleware } from './session/middleware.js';
import { createSessionReader } from './session/read-session.js';
import type { GatewayStore } from './session/store.js';
import { createWebSocketRegistry } from './proxy/websocket-registry.js';

/** What the pipeline needs from the outside world; `cli/serve.ts` builds it. */
export interface GatewayDeps {
  readonly settings: GatewaySettings;
  /** The route table in effect now; each request keeps the one it started with. */
  readonly routes: () => RouteTable;
  readonly oidc: OidcClient;
  readonly store: GatewayStore;
  readonly agents: AgentPool;
  readonly metrics: Metrics;
  readonly loggers: Loggers;
  /** Keys of the identity assertion (SPEC §8), loaded or generated at start. */
  readonly assertionKeys: AssertionKeys;
  /** Epoch milliseconds; injected so tests can move time (DESIGN §6). */
  readonly now: () => number;
}

/** Posture assertions older than this are refused whatever their `exp` says. */
const POSTURE_ASSERTION_MAX_AGE_MS = 24 * 3_600_000;

/** Builds the parts of the pipeline once, at start; misconfiguration fails here, not per request. */
function createParts(deps: GatewayDeps) {
  const { settings, metrics, loggers, now } = deps;
  const log = loggers.log;
  const names = createCookieNames(settings.session.cookieName, settings.session.cookieDomain);
  const pageSecurity = createPageSecurity(() => deps.oidc.endSessionOrigin());
  const sendPage = createPageSender(pageSecurity);
  const postureJwts = createJwtVerifier(settings.posture.issuers, {
    clockSkewMs: settings.posture.clockSkewMs,
    maxTokenAgeMs: POSTURE_ASSERTION_MAX_AGE_MS,
    log,
  });
  const collectPosture = createPostureCollector({
    verifyAssertion: createPostureAssertionVerifier(postureJwts),
    isTrustedPostureProxy: settings.posture.isTrustedProxy,
    metrics,
    log,
  });
  const serviceJwts = createJwtVerifier(settings.serviceTokens, {
    clockSkewMs: settings.posture.clockSkewMs,
    log,
  });
  const authenticateBearer = createBearerAuthenticator(serviceJwts, metrics);
  const webSockets = createWebSocketRegistry(deps.store, log);
  const onSessionEnded = (sid: string) => void webSockets.closeSessions([sid]);
  const refreshIfDue = createTokenRefresher({
    oidc: deps.oidc,
    groupsClaim: settings.idp.groupsClaim,
    metrics,
    log,
    now,
  });
  return {
    sendPage,
    webSockets,
    onSessionEnded,
    record: createRecorder(loggers.audit, metrics),
    beginRequest: createRequestStarter(deps.routes, settings.isTrustedProxy),
    loadSession: createSessionMiddleware({
      secret: settings.session.secret,
      store: deps.store,
      names,
      cookieDomain: settings.session.cookieDomain,
      maxAgeMs: settings.session.maxAgeMs,
    }),
    readSession: createSessionReader(deps.store, settings.session.secret, names),
    authenticateBearer,
    signAssertion: createAssertionSigner({
      keys: deps.assertionKeys,
      ttlMs: settings.assertion.ttlMs,
      issuer: settings.assertion.issuer,
      now,
    }),
    authenticate: createAuthenticate({
      authenticateBearer,
      onSessionEnded,
      maxAgeMs: settings.session.maxAgeMs,
      refreshIfDue,
      metrics,
      sendPage,
      now,
    }),
    checkDevice: createDeviceStep({ collectPosture, metrics, log, now }),
    forwarder: createForwarder({
      agents: deps.agents,
      metrics,
      log,
      sendPage,
      isGatewayCookie: names.isGatewayCookie,
      isTrustedProxy: settings.isTrustedProxy,
      assertionHeader: settings.assertion.header,
    }),
    reservedEndpoints: createReservedEndpoints({
      oidc: deps.oidc,
      sealer: createLoginStateSealer(settings.session.secret),
      names,
      scopes: settings.idp.scopes,
      mfaAcrValues: settings.idp.mfaAcrValues,
      groupsClaim: settings.idp.groupsClaim,
      collectPosture,
      metrics,
      sendPage,
      log,
      now,
      cookieDomain: settings.session.cookieDomain,
      sessionMaxAgeMs: settings.session.maxAgeMs,
      pageSecurity,
      jwks: deps.assertionKeys.jwks,
      onSessionEnded,
      signInLimiter: createRateLimiter({ perMinute: settings.limits.loginRatePerMinute }),
    }),
  };
}

/**
 * Assembles the request pipeline of SPEC §2. Read this function top to bottom to know the
 * product: every request passes these steps in this order, and each step either answers
 * (deny, login, error) or hands the request to the next one.
 */
export function createApp(deps: GatewayDeps) {
  const { now } = deps;
  const parts = createParts(deps);
  const { sendPage } = parts;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  // Step 0: the context. Step 6 (record) runs when the response is done: only then are status
  // and duration known; the decision itself is taken before anything is forwarded.
  app.use(function startRequest(req: Request, res: Response, next: NextFunction) {
    const context = parts.beginRequest(req);
    res.once('close', () =>
      parts.record(req, res, context, res.headersSent ? res.statusCode : 499),
    );
    next();
  });

  // Steps 1 and 2: canonicalize the target, match a route (400 / 404 otherwise).
  app.use(function resolve(req: Request, res: Response, next: NextFunction) {
    const context = contextOf(req);
    const refusal = resolveRequest(req, context);
    if (refusal === undefined) return next();
    context.outcome ??= 'error';
    sendPage(req, res, errorPage(refusal), context.requestId);
  });

  // Sessions load for routes that authenticate and for the reserved endpoints; public routes
  // never touch the session store.
  app.use(function loadSessionUnlessPublic(req: Request, res: Response, next: NextFunction) {
    const context = contextOf(req);
    if (context.route?.public === true && !isReserved(context.target!)) return next();
    parts.loadSession(req, res, next);
  });

  // The gateway's own endpoints under /.ztna/ (login, callback, logout, me).
  app.use(parts.reservedEndpoints);

  // Step 3: who is asking (public routes pass). Expired IdP tokens are refreshed here.
  app.use(parts.authenticate);

  // Step 4: the device's posture, and the session's device binding (services have neither).
  app.use(async function checkDevice(req: Request, res: Response, next: NextFunction) {
    const context = contextOf(req);
    if (context.route!.public || context.auth === 'bearer') return next();
    if ((await parts.checkDevice(req, context, req.session)) === 'ok') return next();
    const sid = req.sessionID;
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    parts.onSessionEnded(sid);
    challenge(req, res, context, sendPage, { kind: 'session_ended', note: 'device_changed' });
  });

  // Step 5: the policy decision.
  app.use(function decideOnPolicy(req: Request, res: Response, next: NextFunction) {
    const context = contextOf(req);
    if (decideRequest(context, req.method, now()) === 'forward') return next();
    const decision = context.decision!;
    // A step-up sends the user back to the IdP, once: when the login just made for it still
    // does not satisfy the rule, the deny page says what is missing instead of looping.
    if (decision.effect === 'step_up' && !recentlySteppedUp(req.session, now())) {
      deps.metrics.authEvents.inc({ event: 'step_up' });
      return challenge(req, res, context, sendPage, { kind: 'step_up', decision });
    }
    sendPage(
      req,
      res,
      denyPage(decision, context.route!.name, context.identity),
      context.requestId,
    );
  });

  // Step 7: forward, with identity headers and the signed identity assertion set, and every
  // client copy of them stripped.
  app.use(async function forward(req: Request, res: Response) {
    const context = contextOf(req);
    parts.forwarder.web(req, res, context, await parts.signAssertion(context));
  });

  app.use(createErrorHandler(deps.loggers.log, sendPage));

  const handleUpgrade = createUpgradeHandler({
    beginRequest: parts.beginRequest,
    readSession: parts.readSession,
    checkDevice: parts.checkDevice,
    authenticateBearer: parts.authenticateBearer,
    signAssertion: parts.signAssertion,
    webSockets: parts.webSockets,
    forwarder: parts.forwarder,
    record: parts.record,
    log: deps.loggers.log,
    sessionMaxAgeMs: deps.settings.session.maxAgeMs,
    now,
  });
  parts.webSockets.start();
  return {
    handleRequest: app,
    handleUpgrade,
    /** CONNECT: the gateway is never a tunnel; its authority-form target is refused (400). */
    handleConnect(req: IncomingMessage, socket: Socket): void {
      socket.on('error', () => socket.destroy());
      const context = parts.beginRequest(req);
      context.note = 'bad_target:not_origin_form';
      refuseOnSocket(socket, req, context, 'ZTNA_ERR_REQUEST_BAD_TARGET', parts.record);
    },
    /** Ends what lives on with these sessions (their WebSockets), after a revocation. */
    sessionsEnded: (sids: readonly string[]) => parts.webSockets.closeSessions(sids),
    close: () => parts.webSockets.stop(),
  };
}

export type GatewayApp = ReturnType<typeof createApp>;
