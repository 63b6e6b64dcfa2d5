import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { TLSSocket } from 'node:tls';
import express from 'express';
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import type { Store } from 'express-session';
import { createRecorder } from './audit/record.js';
import type { Loggers } from './audit/loggers.js';
import { createAuthenticate, judgeSession } from './auth/authenticate.js';
import { createLoginStateSealer } from './auth/login-state.js';
import type { OidcClient } from './auth/oidc-client.js';
import { describe } from './auth/oidc-client.js';
import type { GatewaySettings } from './config/gateway-settings.js';
import type { RouteTable } from './config/route-table.js';
import { attachContext, contextOf } from './context.js';
import type { RequestContext } from './context.js';
import { ERROR_CODES, isGatewayError } from './errors.js';
import type { ErrorCode } from './errors.js';
import { normalizeIp } from './lib/cidr.js';
import { resolveClientIp, resolveScheme } from './lib/forwarded.js';
import type { Metrics } from './metrics/registry.js';
import { denyPage } from './pages/deny.js';
import { errorPage } from './pages/error.js';
import { createPageSecurity, createPageSender } from './pages/render.js';
import { decideAccess } from './policy/route-access.js';
import { ALLOW_PUBLIC } from './policy/reasons.js';
import type { PolicyInput } from './policy/types.js';
import type { AgentPool } from './proxy/agents.js';
import { createForwarder } from './proxy/forward.js';
import { createReservedEndpoints, isReserved } from './reserved.js';
import { canonicalizeHost, canonicalizeTarget } from './routing/canonicalize.js';
import { createCookieNames } from './session/cookie-names.js';
import { createSessionMiddleware } from './session/middleware.js';
import { createSessionReader } from './session/read-session.js';

/** What the pipeline needs from the outside world; `cli/serve.ts` builds it. */
export interface GatewayDeps {
  readonly settings: GatewaySettings;
  /** The route table in effect now; each request keeps the one it started with. */
  readonly routes: () => RouteTable;
  readonly oidc: OidcClient;
  readonly store: Store;
  readonly agents: AgentPool;
  readonly metrics: Metrics;
  readonly loggers: Loggers;
  /** Epoch milliseconds; injected so tests can move time (DESIGN §6). */
  readonly now: () => number;
}

// A client-chosen request id is kept only when it is short and plain (no log injection).
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

function countHostHeaders(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.toLowerCase() === 'host') count++;
  return count;
}

/**
 * Assembles the request pipeline of SPEC §2. Read this function top to bottom to know the
 * product: every request passes these steps in this order, and each step either answers
 * (deny, login, error) or hands the request to the next one.
 */
export function createApp(deps: GatewayDeps) {
  const { settings, metrics, loggers, now } = deps;
  const names = createCookieNames(settings.session.cookieName, settings.session.cookieDomain);
  const pageSecurity = createPageSecurity(() => deps.oidc.endSessionOrigin());
  const sendPage = createPageSender(pageSecurity);
  const record = createRecorder(loggers.audit, metrics);
  const forwarder = createForwarder({
    agents: deps.agents,
    metrics,
    log: loggers.log,
    sendPage,
    isGatewayCookie: names.isGatewayCookie,
    isTrustedProxy: settings.isTrustedProxy,
  });
  const loadSession = createSessionMiddleware({
    secret: settings.session.secret,
    store: deps.store,
    names,
    cookieDomain: settings.session.cookieDomain,
    maxAgeMs: settings.session.maxAgeMs,
  });
  const readSession = createSessionReader(deps.store, settings.session.secret, names);
  const authenticate = createAuthenticate({
    maxAgeMs: settings.session.maxAgeMs,
    metrics,
    sendPage,
    now,
  });
  const reservedEndpoints = createReservedEndpoints({
    oidc: deps.oidc,
    sealer: createLoginStateSealer(settings.session.secret),
    names,
    scopes: settings.idp.scopes,
    groupsClaim: settings.idp.groupsClaim,
    metrics,
    sendPage,
    log: loggers.log,
    now,
    cookieDomain: settings.session.cookieDomain,
    sessionMaxAgeMs: settings.session.maxAgeMs,
    pageSecurity,
  });

  /** Step 0: the request context, and the promise to record the request when it is done. */
  function beginRequest(req: IncomingMessage): RequestContext {
    const peer = normalizeIp(req.socket.remoteAddress ?? '');
    const incomingId = req.headers['x-request-id'];
    return attachContext(req, {
      requestId:
        typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID(),
      startedAt: performance.now(),
      table: deps.routes(),
      peerIp: peer,
      clientIp: resolveClientIp(peer, req.headers['x-forwarded-for'], settings.isTrustedProxy),
      scheme: resolveScheme(
        req.socket instanceof TLSSocket,
        settings.isTrustedProxy(peer),
        req.headers['x-forwarded-proto'],
      ),
    });
  }

  /** Steps 1 and 2: canonical host and target (SPEC §7), then the route; a refusal names why. */
  function canonicalizeAndRoute(
    req: IncomingMessage,
    context: RequestContext,
  ): ErrorCode | undefined {
    // Two Host headers could be read differently by us and the upstream: refuse them.
    const host =
      countHostHeaders(req.rawHeaders) === 1 ? canonicalizeHost(req.headers.host) : undefined;
    if (host === undefined) {
      context.note = 'bad_host';
      return 'ZTNA_ERR_REQUEST_BAD_HOST';
    }
    context.host = host;
    const result = canonicalizeTarget(req.url ?? '');
    if (!result.ok) {
      context.note = `bad_target:${result.rejection}`;
      return 'ZTNA_ERR_REQUEST_BAD_TARGET';
    }
    context.target = result.target;
    // From here on everyone, express included, sees only the canonical target.
    req.url = result.target.path + result.target.query;
    const { index } = context.table;
    context.route = index.match(host.host, result.target.segments);
    // Reserved endpoints live on every route host, even where no route covers their path.
    if (context.route === undefined && !(isReserved(result.target) && index.hasHost(host.host))) {
      context.outcome = 'deny';
      context.note = 'no_route';
      return 'ZTNA_ERR_ROUTE_NOT_FOUND';
    }
    return undefined;
  }

  /**
   * Step 5: the policy decision (SPEC §5), pure and synchronous, and what it means here:
   * forward (allowed, or denied in audit mode) or refuse.
   */
  function decide(context: RequestContext, method: string): 'forward' | 'refuse' {
    const route = context.route!;
    const input: PolicyInput = {
      identity: context.identity,
      request: {
        method,
        path: context.target!.path,
        segments: context.target!.segments,
        ip: context.clientIp,
      },
    };
    const decision = route.public ? ALLOW_PUBLIC : decideAccess(route.access, input, now());
    context.decision = decision;
    if (decision.effect === 'allow') {
      context.outcome = route.public ? 'public' : 'allow';
      return 'forward';
    }
    // Audit mode: the would-be denial is logged and counted, and the request goes through.
    // This is how a company rolls out a policy without breaking anyone's work.
    if (route.mode === 'audit') {
      context.outcome = 'audit_deny';
      return 'forward';
    }
    context.outcome = 'deny';
    return 'refuse';
  }

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  app.use(function startRequest(req: Request, res: Response, next: NextFunction) {
    const context = beginRequest(req);
    // Step 6 (record) runs when the response is done: only then are status and duration known.
    res.once('close', () => record(req, res, context, res.headersSent ? res.statusCode : 499));
    next();
  });

  app.use(function canonicalizeAndMatchRoute(req: Request, res: Response, next: NextFunction) {
    const context = contextOf(req);
    const refusal = canonicalizeAndRoute(req, context);
    if (refusal === undefined) return next();
    context.outcome ??= 'error';
    sendPage(req, res, errorPage(refusal), context.requestId);
  });

  // Sessions are loaded for routes that authenticate and for the reserved endpoints; public
  // routes never touch the session store.
  app.use(function loadSessionUnlessPublic(req: Request, res: Response, next: NextFunction) {
    const context = contextOf(req);
    if (context.route?.public === true && !isReserved(context.target!)) return next();
    loadSession(req, res, next);
  });

  app.use(reservedEndpoints);

  // Step 3: who is asking. (Step 4, device posture, joins here with the posture issue.)
  app.use(authenticate);

  app.use(function decideOnPolicy(req: Request, res: Response, next: NextFunction) {
    const context = contextOf(req);
    if (decide(context, req.method) === 'forward') return next();
    sendPage(
      req,
      res,
      denyPage(context.decision!, context.route!.name, context.identity),
      context.requestId,
    );
  });

  // Step 7: forward, with identity headers set and client copies stripped.
  app.use(function forward(req: Request, res: Response) {
    forwarder.web(req, res, contextOf(req));
  });

  // Nothing may throw past the pipeline (DESIGN §3): an error page, a log line, a metric.
  const handleError: ErrorRequestHandler = (
    error: unknown,
    req: Request,
    res: Response,
    _next: NextFunction,
  ) => {
    const context = contextOf(req);
    const status = (error as { status?: unknown }).status;
    const code: ErrorCode = isGatewayError(error)
      ? error.code
      : typeof status === 'number' && status >= 400 && status < 500
        ? 'ZTNA_ERR_REQUEST_BAD_BODY'
        : 'ZTNA_ERR_INTERNAL';
    const level = ERROR_CODES[code].status >= 500 ? 'error' : 'warn';
    loggers.log[level](
      {
        request_id: context.requestId,
        code,
        error: describe(error),
        cause: describe((error as Error).cause),
      },
      'request failed',
    );
    context.outcome ??= 'error';
    context.note ??= code;
    sendPage(req, res, errorPage(code), context.requestId);
  };
  app.use(handleError);

  /**
   * The same pipeline for WebSocket upgrades, which bypass express: authorized on the upgrade
   * request itself (SPEC §5), then the socket is handed to the upstream.
   */
  async function handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const context = beginRequest(req);
    const refuse = (code: ErrorCode) => {
      const { status, title } = ERROR_CODES[code];
      const body = JSON.stringify({ error: code, request_id: context.requestId });
      context.outcome ??= 'error';
      socket.end(
        `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      record(req, undefined, context, status);
    };
    try {
      // Only WebSockets: any other protocol switch (h2c above all) would give the client a
      // channel to the upstream that no later request of it passes our checks on.
      if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
        context.note = 'bad_upgrade';
        return refuse('ZTNA_ERR_REQUEST_BAD_UPGRADE');
      }
      const refusal = canonicalizeAndRoute(req, context);
      if (refusal !== undefined) return refuse(refusal);
      const route = context.route;
      if (route === undefined || isReserved(context.target!))
        return refuse('ZTNA_ERR_ROUTE_NOT_FOUND');
      if (!route.websockets) return refuse('ZTNA_ERR_WEBSOCKETS_DISABLED');
      if (!route.public) {
        const loaded = await readSession(req, context.scheme);
        const verdict = judgeSession(loaded?.data, now(), settings.session.maxAgeMs);
        if (verdict === undefined || verdict === 'expired') {
          context.outcome = 'login';
          context.note = 'unauthenticated';
          return refuse('ZTNA_ERR_AUTH_REQUIRED');
        }
        context.identity = verdict.identity;
        context.auth = 'session';
      }
      if (decide(context, req.method ?? 'GET') === 'refuse')
        return refuse('ZTNA_ERR_POLICY_DENIED');
      forwarder.ws(req, socket, head, context);
      record(req, undefined, context, 101);
    } catch (error) {
      loggers.log.error(
        { request_id: context.requestId, error: describe(error) },
        'upgrade failed',
      );
      refuse('ZTNA_ERR_INTERNAL');
    }
  }

  return { handleRequest: app, handleUpgrade };
}

export type GatewayApp = ReturnType<typeof createApp>;
