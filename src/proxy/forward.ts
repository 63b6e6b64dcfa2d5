import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { CompiledRoute, RouteTable } from '../config/route-table.js';
import type { ErrorCode } from '../errors.js';
import type { Metrics } from '../metrics/registry.js';
import type { RouteMeters } from '../metrics/route-meters.js';
import { errorPage } from '../pages/error.js';
import type { PageSender } from '../pages/render.js';
import type { Decided } from '../pipeline/context.js';
import type { UpstreamPools } from './pools.js';
import { responseHeaderPairs, stripClientHeaders, toHeaderValue } from './strip-headers.js';
import { classifyUpstreamError, UPSTREAM_ERROR_CODES } from './upstream-errors.js';

export interface ForwarderDeps {
  readonly pools: UpstreamPools;
  readonly metrics: Metrics;
  readonly meters: RouteMeters;
  readonly log: Logger;
  readonly sendPage: PageSender;
  readonly isGatewayCookie: (name: string) => boolean;
  readonly isTrustedProxy: (ip: string) => boolean;
  /** Lower-case name of the signed identity assertion header. */
  readonly assertionHeader: string;
}

/** The path the upstream receives: canonical, minus the route prefix when `strip_prefix`. */
export function upstreamTarget(route: CompiledRoute, path: string, query: string): string {
  let rest = path;
  if (route.stripPrefix) {
    // Strip whole segments, not characters: `/app;v=1/x` under route `/app` becomes `/x`.
    rest = `/${path
      .split('/')
      .slice(1 + route.pathSegments.length)
      .join('/')}`;
  }
  // An upstream URL with a path (`http://10.0.0.12/base`) is a prefix of every forwarded path.
  const base = route.upstream.pathname;
  return (base === '/' ? rest : base.replace(/\/$/, '') + rest) + query;
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

/**
 * Sets, in place, the headers the upstream gets from the gateway after the client's copies
 * are stripped (SPEC §8): identity (always overwritten, never appended), forwarding
 * information, the request id, the signed assertion.
 */
export function prepareUpstreamHeaders(
  req: IncomingMessage,
  context: Decided,
  deps: ForwarderDeps,
  assertion: string | undefined,
  upgrade: boolean,
): void {
  const { route } = context;
  const headers = req.headers;
  const receivedFor = headers['x-forwarded-for'];
  stripClientHeaders(headers, {
    upgrade,
    clientFramesBody: !upgrade,
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
  headers['x-forwarded-host'] = context.host.authority;
  if (route.stripPrefix) headers['x-forwarded-prefix'] = route.path;
  headers['x-request-id'] = context.requestId;
  // Without preserve_host the upstream is addressed by its own name (the pool's origin).
  if (route.preserveHost) headers.host = context.host.authority;
  else delete headers.host;
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

/** Whether the client request has a body to stream (RFC 9112 §6.3). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * One forwarded request, as undici's dispatch handler: the response head is filtered and
 * written, the body streamed with back-pressure (undici pauses while the client is slow), and
 * a client that goes away aborts the upstream request. One object per request; no closures,
 * promises or AbortControllers on this path (DESIGN §5).
 */
class ForwardedRequest implements Dispatcher.DispatchHandler {
  private abortUpstream: ((error?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private waitingForDrain = false;
  private readonly startedAt = performance.now();

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly context: Decided,
    private readonly forwarder: Forwarder,
  ) {
    res.on('close', this.onClientClose);
  }

  private readonly onClientClose = (): void => {
    if (!this.res.writableFinished) this.abortUpstream?.(new Error('client went away'));
  };

  onConnect(abort: (error?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.res.destroyed) abort(new Error('client went away'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.resumeUpstream = resume;
    const { deps } = this.forwarder;
    deps.meters
      .of(this.context.route.name)
      .upstreamDuration.observe((performance.now() - this.startedAt) / 1000);
    // 1xx informational answers (103 Early Hints) are not passed on; the final one follows.
    if (statusCode < 200) return true;
    try {
      this.res.writeHead(statusCode, responseHeaderPairs(rawHeaders, deps.isGatewayCookie));
    } catch (error) {
      // An upstream header Node will not send (invalid characters): answer 502, stop reading.
      this.abortUpstream?.(error as Error);
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    // Only a slow client gets a 'drain' listener: most responses never need one.
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      this.res.once('drain', () => {
        this.waitingForDrain = false;
        this.resumeUpstream?.();
      });
    }
    return false;
  }

  onComplete(): void {
    this.res.end();
  }

  onError(error: Error): void {
    this.forwarder.fail(error, this.req, this.res, this.context);
  }
}

/**
 * Creates the forwarder (SPEC §2 step 7) on undici: a keep-alive pool per upstream origin,
 * bodies streamed both ways and never buffered, the route's timeout on the response head and
 * between body bytes, and upstream failures turned into a 502/504 page and a metric.
 */
export function createForwarder(deps: ForwarderDeps) {
  const forwarder = {
    deps,
    /** Forwards an allowed HTTP request to its route's upstream. */
    web(
      req: IncomingMessage,
      res: ServerResponse,
      context: Decided,
      assertion: string | undefined,
    ): void {
      const { route, target } = context;
      // Read before the client's framing headers are stripped.
      const body = hasBody(req) ? req : null;
      prepareUpstreamHeaders(req, context, deps, assertion, false);
      // undici honours `servername` per request; its typings do not list it.
      const options: Dispatcher.DispatchOptions & { servername?: string | undefined } = {
        origin: route.upstream.origin,
        method: context.method,
        path: upstreamTarget(route, target.path, target.query),
        headers: req.headers as Record<string, string | string[]>,
        body,
        // The name the upstream's certificate must carry: the configured one, never the
        // client's Host (which preserve_host forwards, and undici would otherwise use).
        servername: route.upstreamTls?.serverName,
        headersTimeout: route.timeoutMs,
        bodyTimeout: route.timeoutMs,
        // A client's request is the client's to retry; the gateway never replays it.
        idempotent: false,
      };
      deps.pools
        .poolFor(route)
        .dispatch(options, new ForwardedRequest(req, res, context, forwarder));
    },

    /**
     * Counts, logs and notes an upstream failure (HTTP and WebSocket alike); returns the error
     * code of the page the client gets when nothing was sent to it yet.
     */
    noteFailure(error: unknown, context: Decided): ErrorCode {
      const kind = classifyUpstreamError(error);
      const route = context.route.name;
      deps.metrics.upstreamErrors.inc({ route, kind });
      deps.log.warn(
        { request_id: context.requestId, route, kind, code: (error as { code?: string }).code },
        'upstream request failed',
      );
      context.note = `upstream_${kind}`;
      return UPSTREAM_ERROR_CODES[kind];
    },

    /** An upstream failure: 502/504 page when nothing was sent yet, else a cut connection. */
    fail(error: unknown, req: IncomingMessage, res: ServerResponse, context: Decided): void {
      if (res.destroyed) return; // The client left first: nothing failed upstream.
      const code = forwarder.noteFailure(error, context);
      if (res.headersSent) res.destroy();
      else deps.sendPage(req, res, errorPage(code), context.requestId);
    },
  };
  return forwarder;
}

export type Forwarder = ReturnType<typeof createForwarder>;
