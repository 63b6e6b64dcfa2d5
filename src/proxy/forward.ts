import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { createProxyServer } from 'http-proxy-3';
import type { ServerOptions } from 'http-proxy-3';
import type { Logger } from 'pino';
import type { CompiledRoute, RouteTable } from '../config/route-table.js';
import type { RequestContext } from '../context.js';
import type { Metrics } from '../metrics/registry.js';
import { errorPage } from '../pages/error.js';
import type { PageRequest, PageSender } from '../pages/render.js';
import type { AgentPool } from './agents.js';
import { responseHeadersForClient, stripClientHeaders, toHeaderValue } from './strip-headers.js';
import {
  classifyUpstreamError,
  UPSTREAM_ERROR_CODES,
  UPSTREAM_TIMEOUT_CODE,
} from './upstream-errors.js';

export interface ForwarderDeps {
  readonly agents: AgentPool;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly sendPage: PageSender;
  readonly isGatewayCookie: (name: string) => boolean;
  readonly isTrustedProxy: (ip: string) => boolean;
  /** Lower-case name of the signed identity assertion header. */
  readonly assertionHeader: string;
}

interface InFlight {
  readonly context: RequestContext;
  readonly route: CompiledRoute;
  readonly startedAt: number;
}

/** The path the upstream receives: canonical, minus the route prefix when `strip_prefix`. */
export function upstreamTarget(route: CompiledRoute, path: string, query: string): string {
  if (!route.stripPrefix) return path + query;
  // Strip whole segments, not characters: `/app;v=1/x` under route `/app` becomes `/x`.
  const rest = path
    .split('/')
    .slice(1 + route.pathSegments.length)
    .join('/');
  return `/${rest}${query}`;
}

/**
 * Sets, in place, the headers the upstream gets from the gateway after the client's copies
 * are stripped (SPEC §8): identity (always overwritten, never appended), forwarding
 * information, the request id.
 */
function prepareHeaders(
  req: IncomingMessage,
  context: RequestContext,
  route: CompiledRoute,
  upgrade: boolean,
  deps: ForwarderDeps,
  assertion: string | undefined,
): void {
  const headers = req.headers;
  const receivedFor = headers['x-forwarded-for'];
  stripClientHeaders(headers, {
    upgrade,
    isGatewayCookie: deps.isGatewayCookie,
    alsoStrip: strippedNames(context.table, deps.assertionHeader),
  });
  if (context.consumedAuthorization) delete headers.authorization;
  // A trusted proxy's chain is kept and extended; anyone else's is replaced by what we saw.
  const chain =
    deps.isTrustedProxy(context.peerIp) && typeof receivedFor === 'string'
      ? `${receivedFor}, `
      : '';
  headers['x-forwarded-for'] = chain + context.peerIp;
  headers['x-forwarded-proto'] = context.scheme;
  headers['x-forwarded-host'] = context.host!.authority;
  if (route.stripPrefix) headers['x-forwarded-prefix'] = route.path;
  headers['x-request-id'] = context.requestId;
  if (route.preserveHost) headers.host = context.host!.authority;
  const identity = context.identity;
  if (identity !== undefined) {
    const names = route.identityHeaders;
    headers[names.user] = toHeaderValue(identity.sub);
    if (identity.email !== undefined) headers[names.email] = toHeaderValue(identity.email);
    if (identity.groups !== undefined)
      headers[names.groups] = toHeaderValue(identity.groups.join(','));
  }
  if (assertion !== undefined) headers[deps.assertionHeader] = assertion;
}

const strippedByTable = new WeakMap<RouteTable, ReadonlySet<string>>();

/** Every route's identity header names and the assertion header: computed once per table. */
function strippedNames(table: RouteTable, assertionHeader: string): ReadonlySet<string> {
  let names = strippedByTable.get(table);
  if (names === undefined) {
    names = new Set([...table.identityHeaderNames, assertionHeader]);
    strippedByTable.set(table, names);
  }
  return names;
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`upstream sent nothing for ${ms} ms`), {
    code: UPSTREAM_TIMEOUT_CODE,
  });
}

/**
 * Creates the forwarder (SPEC §2 step 7) on http-proxy-3: bodies stream both ways with
 * back-pressure and are never buffered; WebSockets pass through; upstream failures become a
 * 502/504 page and a metric, never a crash.
 */
export function createForwarder(deps: ForwarderDeps) {
  const proxy = createProxyServer({ xfwd: false });
  const inFlight = new WeakMap<IncomingMessage, InFlight>();
  const optionsByRoute = new WeakMap<CompiledRoute, ServerOptions>();

  function optionsFor(route: CompiledRoute): ServerOptions {
    let options = optionsByRoute.get(route);
    if (options === undefined) {
      options = {
        target: route.upstream,
        agent: deps.agents.agentFor(route),
        changeOrigin: !route.preserveHost,
        xfwd: false,
        secure: true,
        prependPath: true,
        // The response is written by us, to sanitize its headers (see 'proxyRes' below).
        selfHandleResponse: true,
      };
      optionsByRoute.set(route, options);
    }
    return options;
  }

  // The per-route timeout: no byte from the upstream for this long aborts the request.
  // ('proxyReq' fires for every request: `Expect`, which would suppress it, is stripped.)
  proxy.on('proxyReq', (proxyReq, req) => {
    const flight = inFlight.get(req);
    if (flight === undefined) return;
    const ms = flight.route.timeoutMs;
    proxyReq.setTimeout(ms, () => proxyReq.destroy(timeoutError(ms)));
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const flight = inFlight.get(req);
    if (flight !== undefined) {
      deps.metrics.upstreamDuration.observe(
        { route: flight.route.name },
        (performance.now() - flight.startedAt) / 1000,
      );
    }
    try {
      res.writeHead(
        proxyRes.statusCode ?? 502,
        responseHeadersForClient(proxyRes.headers, deps.isGatewayCookie),
      );
    } catch (error) {
      proxyRes.resume();
      fail(error, req, res);
      return;
    }
    // pipeline, not pipe: a failing upstream body must tear the client response down, or the
    // client would wait forever for bytes that never come.
    pipeline(proxyRes, res, () => undefined);
  });

  // Only reached if a callback is missing; without any listener an error would crash us.
  proxy.on('error', (error, req, res) => fail(error, req, res));

  function fail(error: unknown, req: IncomingMessage, res: ServerResponse | Socket): void {
    const flight = inFlight.get(req);
    const kind = classifyUpstreamError(error);
    const route = flight?.route.name ?? 'unknown';
    deps.metrics.upstreamErrors.inc({ route, kind });
    deps.log.warn(
      {
        request_id: flight?.context.requestId,
        route,
        kind,
        code: (error as { code?: string }).code,
      },
      'upstream request failed',
    );
    if (!('writeHead' in res)) {
      res.destroy();
      return;
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (flight !== undefined) flight.context.note = `upstream_${kind}`;
    deps.sendPage(
      req as PageRequest,
      res,
      errorPage(UPSTREAM_ERROR_CODES[kind]),
      flight?.context.requestId ?? '',
    );
  }

  return {
    /** Forwards an allowed HTTP request to its route's upstream. */
    web(
      req: IncomingMessage,
      res: ServerResponse,
      context: RequestContext,
      assertion: string | undefined,
    ): void {
      const route = context.route!;
      const target = context.target!;
      prepareHeaders(req, context, route, false, deps, assertion);
      req.url = upstreamTarget(route, target.path, target.query);
      inFlight.set(req, { context, route, startedAt: performance.now() });
      proxy.web(req, res, optionsFor(route), (error) => fail(error, req, res));
    },
    /** Forwards an authorized WebSocket upgrade; the socket is destroyed on failure. */
    ws(
      req: IncomingMessage,
      socket: Socket,
      head: Buffer,
      context: RequestContext,
      assertion: string | undefined,
    ): void {
      const route = context.route!;
      const target = context.target!;
      prepareHeaders(req, context, route, true, deps, assertion);
      req.url = upstreamTarget(route, target.path, target.query);
      inFlight.set(req, { context, route, startedAt: performance.now() });
      proxy.ws(req, socket, head, optionsFor(route), (error) => fail(error, req, socket));
    },
  };
}

export type Forwarder = ReturnType<typeof createForwarder>;
