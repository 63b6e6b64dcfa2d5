import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import express from 'express';
import { createAssertionSigner } from './assertion/sign.js';
import type { AssertionKeys } from './assertion/keys.js';
import { createRecorder } from './audit/record.js';
import type { Loggers } from './audit/loggers.js';
import { createBearerAuthenticator } from './auth/bearer.js';
import { createJwtVerifier } from './auth/jwt-verifier.js';
import { createLoginStateSealer } from './auth/login-state.js';
import { createLogoutHintSealer } from './auth/logout-hint.js';
import type { OidcClient } from './auth/oidc-client.js';
import { createTokenRefresher } from './auth/refresh.js';
import type { GatewaySettings } from './config/gateway-settings.js';
import type { RouteTable } from './config/route-table.js';
import { createErrorHandler } from './endpoints/error-handler.js';
import { createReservedEndpoints } from './endpoints/reserved.js';
import { createRateLimiter } from './limits/rate-limiter.js';
import type { Metrics } from './metrics/registry.js';
import { createRouteMeters } from './metrics/route-meters.js';
import { createPageSecurity, createPageSender } from './pages/render.js';
import { createRequestStarter } from './pipeline/arrival.js';
import { attachContext } from './pipeline/context.js';
import type { Decided, RequestContext } from './pipeline/context.js';
import { createHttpRenderer } from './pipeline/render-http.js';
import { renderOnSocket } from './pipeline/render-socket.js';
import { runPipeline, settle } from './pipeline/run.js';
import { signInAgain } from './pipeline/authenticate.js';
import type { PipelineResult } from './pipeline/run.js';
import { createServeSources } from './pipeline/serve-sources.js';
import { createPostureCollector } from './posture/collect.js';
import { createPostureAssertionVerifier } from './posture/signed-assertion.js';
import { createForwarder } from './proxy/forward.js';
import type { UpstreamPools } from './proxy/pools.js';
import { forwardUpgrade } from './proxy/websocket.js';
import type { UpgradeResult } from './proxy/websocket.js';
import { createWebSocketRegistry } from './proxy/websocket-registry.js';
import { createLogoutTokenVerifier } from './auth/backchannel-logout.js';
import { createBackchannelLogoutHandler } from './endpoints/backchannel-logout.js';
import { createSharedSignalsHandler, MAX_SET_AGE_MS } from './endpoints/shared-signals.js';
import { createDeviceComplianceMarks } from './signals/device-compliance.js';
import { createCookieNames } from './session/cookie-names.js';
import { createSessionMiddleware } from './session/middleware.js';
import { createSessionReader } from './session/read-session.js';
import type { GatewayStore } from './session/store.js';
import type { RevocationBus, RevocationSource } from './revocation/bus.js';
import { createJitRecorder } from './jit/events.js';
import { createGrantExpiry } from './jit/expiry.js';
import type { Grant } from './jit/grants.js';

/** What the pipeline needs from the outside world; `gateway/start.ts` builds it. */
export interface GatewayDeps {
  readonly settings: GatewaySettings;
  /** The route table in effect now; each request keeps the one it started with. */
  readonly routes: () => RouteTable;
  readonly oidc: OidcClient;
  readonly store: GatewayStore;
  /** Carries revocations to the other instances sharing the store (SPEC §12). */
  readonly revocations: RevocationBus;
  readonly pools: UpstreamPools;
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
  const renderHttp = createHttpRenderer(sendPage);
  const postureJwts = createJwtVerifier(settings.posture.issuers, {
    clockSkewMs: settings.posture.clockSkewMs,
    maxTokenAgeMs: POSTURE_ASSERTION_MAX_AGE_MS,
    log,
  });
  const devices = createDeviceComplianceMarks();
  const collectPosture = createPostureCollector({
    verifyAssertion: createPostureAssertionVerifier(postureJwts),
    isTrustedPostureProxy: settings.posture.isTrustedProxy,
    devices,
    metrics,
    log,
  });
  const serviceJwts = createJwtVerifier(settings.serviceTokens, {
    clockSkewMs: settings.posture.clockSkewMs,
    log,
  });
  const webSockets = createWebSocketRegistry(deps.store, log, undefined, now);
  // Lag is wall-clock time across instances: the injected clock of tests moves in hours.
  const observeLag = (source: RevocationSource, at: number) =>
    metrics.revocationLag.observe({ source }, Math.max(0, Date.now() - at) / 1000);
  /**
   * Enforces the end of sessions here at once (their WebSockets close) and tells every other
   * instance, whose WebSockets close when the message arrives. The store refuses them already.
   */
  const endSessions = (sids: readonly string[], source: RevocationSource): number => {
    const at = Date.now();
    const closed = webSockets.closeSessions(sids);
    observeLag(source, at);
    void deps.revocations.publish({ sids, source, at });
    return closed;
  };
  /**
   * Ends what lives on with just-in-time grants that were revoked or ran out: the WebSockets they
   * let through, here and on every other instance. The store refuses the grants already.
   */
  const endGrants = (grants: readonly Grant[], source: RevocationSource): number => {
    const ids = grants.map((g) => g.id);
    const closed = webSockets.closeGrants(ids);
    void deps.revocations.publish({ sids: [], source, at: Date.now(), grants: ids });
    return closed;
  };
  const recordJit = createJitRecorder(loggers.audit, metrics);
  const grantExpiry = createGrantExpiry({
    grants: deps.store.grants,
    recordJit,
    onExpired: (grants) => void endGrants(grants, 'session_check'),
    log,
    now,
  });
  deps.revocations.onRevocation((revocation) => {
    for (const change of revocation.devices ?? []) devices.apply(change);
    const closed =
      webSockets.closeSessions(revocation.sids) + webSockets.closeGrants(revocation.grants ?? []);
    observeLag(revocation.source, revocation.at);
    if (closed > 0)
      log.info(
        { source: revocation.source, websockets_closed: closed },
        'closed WebSockets of sessions revoked on another instance',
      );
  });
  const sources = createServeSources({
    store: deps.store,
    readSession: createSessionReader(deps.store, settings.session.secret, names),
    refreshIfDue: createTokenRefresher({
      oidc: deps.oidc,
      groupsClaim: settings.idp.groupsClaim,
      metrics,
      log,
      now,
    }),
    authenticateBearer: createBearerAuthenticator(serviceJwts, metrics),
    collectPosture,
    onSessionEnded: (sid: string) => void endSessions([sid], 'session_check'),
    recordJit,
    metrics,
    log,
    now,
  });
  const meters = createRouteMeters(metrics);
  const forwarder = createForwarder({
    pools: deps.pools,
    metrics,
    meters,
    log,
    sendPage,
    isGatewayCookie: names.isGatewayCookie,
    isTrustedProxy: settings.isTrustedProxy,
    assertionHeader: settings.assertion.header,
  });
  const endpoints = express();
  endpoints.disable('x-powered-by');
  endpoints.disable('etag');
  endpoints.use(
    createSessionMiddleware({
      secret: settings.session.secret,
      store: deps.store,
      names,
      cookieDomain: settings.session.cookieDomain,
      maxAgeMs: settings.session.maxAgeMs,
    }),
  );
  endpoints.use(
    createReservedEndpoints({
      oidc: deps.oidc,
      sealer: createLoginStateSealer(settings.session.secret),
      logoutHints: createLogoutHintSealer(settings.session.secret),
      maxHeaderBytes: settings.limits.maxHeaderBytes,
      names,
      scopes: settings.idp.scopes,
      mfaAcrValues: settings.idp.mfaAcrValues,
      groupsClaim: settings.idp.groupsClaim,
      collectPosture,
      metrics,
      sendPage,
      renderHttp,
      sources,
      log,
      now,
      cookieDomain: settings.session.cookieDomain,
      sessionMaxAgeMs: settings.session.maxAgeMs,
      pageSecurity,
      jwks: deps.assertionKeys.jwks,
      onSessionEnded: (sid: string) => void endSessions([sid], 'logout'),
      backchannelLogout: createBackchannelLogoutHandler({
        verifyLogoutToken: createLogoutTokenVerifier({
          clientId: settings.idp.clientId,
          idp: async () => {
            const metadata = (await deps.oidc.configuration()).serverMetadata();
            if (metadata.jwks_uri === undefined)
              throw new Error('the IdP publishes no jwks_uri: logout tokens cannot be verified');
            return { issuer: metadata.issuer, jwksUri: metadata.jwks_uri };
          },
          now,
        }),
        store: deps.store,
        endSessions,
        metrics,
        log,
      }),
      sharedSignals: createSharedSignalsHandler({
        verifySet: createJwtVerifier(settings.sharedSignals, {
          clockSkewMs: settings.posture.clockSkewMs,
          maxTokenAgeMs: MAX_SET_AGE_MS,
          requireExp: false,
          log,
        }),
        audiences: settings.sharedSignals.flatMap((t) => t.audiences),
        idpIssuers: [settings.idp.issuer.href, settings.idp.issuer.href.replace(/\/$/, '')],
        clockSkewMs: settings.posture.clockSkewMs,
        store: deps.store,
        endSessions,
        devices,
        revocations: deps.revocations,
        metrics,
        log,
        now,
      }),
      signInLimiter: createRateLimiter({ perMinute: settings.limits.failedSignInsPerMinute }),
      grants: deps.store.grants,
      recordJit,
    }),
  );
  endpoints.use(createErrorHandler(sources.observe, renderHttp));
  return {
    sources,
    renderHttp,
    webSockets,
    endSessions,
    endGrants,
    recordJit,
    grantExpiry,
    forwarder,
    endpoints,
    record: createRecorder(loggers.audit, metrics, meters),
    beginRequest: createRequestStarter(deps.routes, settings.isTrustedProxy),
    signAssertion: createAssertionSigner({
      keys: deps.assertionKeys,
      ttlMs: settings.assertion.ttlMs,
      issuer: settings.assertion.issuer,
      now,
    }),
  };
}

/**
 * Assembles the request pipeline of SPEC §2. Every request, HTTP or WebSocket upgrade, runs
 * the same steps in pipeline/run.ts (canonicalize, route, authenticate, device, decide); this
 * file only delivers what they conclude: forward, answer, or the gateway's own endpoints.
 * Step 6 (record) runs when the answer is delivered: only then are status and duration known.
 */
export function createApp(deps: GatewayDeps) {
  const parts = createParts(deps);
  const pipelineSettings = { sessionMaxAgeMs: deps.settings.session.maxAgeMs };

  async function deliverHttp(
    req: IncomingMessage,
    res: ServerResponse,
    context: RequestContext,
    result: PipelineResult,
  ): Promise<void> {
    switch (result.kind) {
      case 'forward':
        parts.forwarder.web(req, res, result.context, await parts.signAssertion(result.context));
        return;
      case 'answer':
        parts.renderHttp(req, res, result.answer, context);
        return;
      case 'endpoint': {
        // The gateway's own pages see only the canonical target, and find the context by
        // request (express hands them the request only); proxied requests need neither.
        const { target } = result.context;
        if (target !== undefined) req.url = target.path + target.query;
        attachContext(req, context);
        parts.endpoints(req, res);
        return;
      }
    }
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const context = parts.beginRequest(req);
    // 'close' comes once per response: `on` spares the wrapper `once` makes per request.
    res.on('close', () => parts.record(req, res, context, res.headersSent ? res.statusCode : 499));
    runPipeline(context, req, 'http', parts.sources, pipelineSettings)
      .then((result) => deliverHttp(req, res, context, result))
      .catch((error: unknown) => {
        parts.sources.observe.failure(context.requestId, error);
        const answer = { answer: 'page', code: 'ZTNA_ERR_INTERNAL', note: 'internal' } as const;
        settle(context, answer);
        parts.renderHttp(req, res, answer, context);
      });
  }

  /** Where an upgrade ended: recorded with the status the client got. */
  function upgradeDone(
    req: IncomingMessage,
    socket: Socket,
    context: Decided,
    result: UpgradeResult,
  ): void {
    if ('failed' in result) {
      const code = parts.forwarder.noteFailure(result.failed, context);
      const answer = { answer: 'page', code, note: context.note ?? code } as const;
      parts.record(req, undefined, context, renderOnSocket(socket, answer, context));
      return;
    }
    parts.record(req, undefined, context, result.status);
  }

  /** Upgrades run the same pipeline; the answer is written on the raw socket. */
  async function upgrade(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    context: RequestContext,
  ) {
    const result = await runPipeline(context, req, 'upgrade', parts.sources, pipelineSettings);
    if (result.kind === 'endpoint') throw new TypeError('an upgrade never reaches an endpoint');
    if (result.kind === 'answer') {
      parts.record(req, undefined, context, renderOnSocket(socket, result.answer, context));
      return;
    }
    const assertion = await parts.signAssertion(result.context);
    // A client that left while it was being authorized gets no upstream connection.
    if (socket.destroyed) return parts.record(req, undefined, context, 499);
    // Registered before the upstream answers: a revocation while it does closes this socket
    // too, and one enforced since the session was read refuses it here.
    const session = result.context.session;
    if (session !== undefined && !parts.webSockets.add(session.id, socket)) {
      settle(result.context, signInAgain(result.context, 'session_ended'));
      return parts.record(req, undefined, result.context, 401);
    }
    const grant = result.context.usedGrant;
    if (grant !== undefined && !parts.webSockets.holdGrant(grant, socket)) {
      const decision = { effect: 'deny', reason: 'deny:grant' } as const;
      settle(result.context, { answer: 'deny', decision, routeName: result.context.route.name });
      return parts.record(req, undefined, result.context, 403);
    }
    forwardUpgrade(parts.forwarder.deps, req, socket, head, result.context, assertion, (done) =>
      upgradeDone(req, socket, result.context, done),
    );
  }

  function handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const context = parts.beginRequest(req);
    // Nothing thrown may escape (DESIGN §3): a bug is a 500 on this socket, never a crash.
    upgrade(req, socket, head, context).catch((error: unknown) => {
      parts.sources.observe.failure(context.requestId, error);
      const answer = { answer: 'page', code: 'ZTNA_ERR_INTERNAL', note: 'internal' } as const;
      settle(context, answer);
      parts.record(req, undefined, context, renderOnSocket(socket, answer, context));
    });
  }

  parts.webSockets.start();
  parts.grantExpiry.start();
  return {
    handleRequest,
    handleUpgrade,
    /** CONNECT: the gateway is never a tunnel; its authority-form target is refused (400). */
    handleConnect(req: IncomingMessage, socket: Socket): void {
      socket.on('error', () => socket.destroy());
      const context = parts.beginRequest(req);
      const answer = {
        answer: 'refuse',
        code: 'ZTNA_ERR_REQUEST_BAD_TARGET',
        note: 'bad_target:not_origin_form',
      } as const;
      settle(context, answer);
      parts.record(req, undefined, context, renderOnSocket(socket, answer, context));
    },
    /** Ends what lives on with these sessions (their WebSockets), after a revocation. */
    sessionsEnded: parts.endSessions,
    /** Ends what lives on with revoked just-in-time grants (their WebSockets), everywhere. */
    grantsEnded: parts.endGrants,
    /** Writes the audit line and metric of a just-in-time step (SPEC §13). */
    recordJit: parts.recordJit,
    /** Records grants that ran out and closes their WebSockets (tests call it directly). */
    expireGrants: parts.grantExpiry.sweep,
    close: () => {
      parts.webSockets.stop();
      parts.grantExpiry.stop();
    },
  };
}

export type GatewayApp = ReturnType<typeof createApp>;
