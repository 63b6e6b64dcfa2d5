import { request as httpRequest, STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Decided } from '../pipeline/context.js';
import type { ForwarderDeps } from './forward.js';
import { prepareUpstreamHeaders, upstreamTarget } from './forward.js';
import { checkIdentityOf } from './pools.js';
import { responseHeaderPairs } from './strip-headers.js';

/**
 * A response head for a raw socket, from filtered header pairs. The reason phrase is the
 * standard one, as writeHead writes on HTTP, never an upstream's: Node's parser passes control
 * characters in a reason phrase, NUL included, and this head reaches the client as written.
 */
function responseHead(status: number, pairs: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
  for (let i = 0; i < pairs.length; i += 2) head += `${pairs[i]}: ${pairs[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/** How the upstream answered an upgrade: the status the client got, or the failure. */
export type UpgradeResult = { readonly status: number } | { readonly failed: unknown };

/**
 * Forwards an authorized WebSocket upgrade (SPEC §2 step 7). The upstream's answer, a 101 or
 * a refusal, is filtered like any response: hop-by-hop headers other than the upgrade's own
 * and every Set-Cookie for a gateway cookie are dropped, so an upstream can never set or clear
 * the gateway's session. Then bytes flow both ways until either side closes.
 */
export function forwardUpgrade(
  deps: ForwarderDeps,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  context: Decided,
  assertion: string | undefined,
  done: (result: UpgradeResult) => void,
): void {
  const { route, target } = context;
  prepareUpstreamHeaders(req, context, deps, assertion, true);
  const tls = route.upstreamTls;
  const secure = route.upstream.protocol === 'https:';
  const proxyReq = (secure ? httpsRequest : httpRequest)({
    protocol: route.upstream.protocol,
    hostname: route.upstream.hostname,
    port: route.upstream.port,
    method: 'GET',
    path: upstreamTarget(route, target.path, target.query),
    headers: req.headers,
    // An upgraded connection is never reused: no keep-alive agent.
    agent: false,
    ...(secure && {
      rejectUnauthorized: true,
      ...(tls?.ca !== undefined && { ca: tls.ca }),
      // The route's TLS name: with preserve_host, Node would otherwise take the client's Host.
      ...(tls?.serverName !== undefined && { servername: tls.serverName }),
      ...(tls !== undefined && { checkServerIdentity: checkIdentityOf(tls.identity) }),
    }),
  });
  let answered = false;
  // Before an answer, a failure is the client's 502/504 (written by `done`'s caller); after
  // one, the connection is simply cut.
  const fail = (error: unknown) => {
    if (answered) return void socket.destroy();
    answered = true;
    done({ failed: error });
  };
  proxyReq.setTimeout(route.timeoutMs, () =>
    proxyReq.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })),
  );
  proxyReq.on('error', fail);
  // A client gone before the upstream answered takes the upstream request with it, and is
  // recorded as such (499): that is no upstream failure.
  // Upgrade sockets allow half-open connections: a client's FIN alone would never close it.
  socket.once('end', () => socket.destroy());
  socket.on('close', () => {
    proxyReq.destroy();
    if (answered) return;
    answered = true;
    done({ status: 499 });
  });

  proxyReq.on('upgrade', (proxyRes: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
    answered = true;
    if (socket.destroyed) {
      upstream.destroy();
      return done({ status: 499 });
    }
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    const pairs = responseHeaderPairs(proxyRes.rawHeaders, deps.isGatewayCookie);
    // The upgrade's own hop-by-hop headers belong to this answer.
    pairs.push('Connection', 'Upgrade', 'Upgrade', String(proxyRes.headers.upgrade ?? 'websocket'));
    socket.write(responseHead(101, pairs), 'latin1');
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (head.length > 0) upstream.write(head);
    upstream.setTimeout(0);
    upstream.pipe(socket).pipe(upstream);
    done({ status: 101 });
  });

  // The upstream refused the upgrade: pass its answer on, filtered, and close.
  proxyReq.on('response', (proxyRes: IncomingMessage) => {
    const status = proxyRes.statusCode ?? 502;
    // A 101 without `Upgrade` opens no tunnel, and Node's parser takes any three digits, 000 to
    // 099 included, which are no status (writeHead refuses them on HTTP): broken answers, not
    // ones to relay. Other 1xx answers never arrive here; Node waits past them.
    if (status === 101 || status < 100) {
      proxyRes.destroy();
      return fail(
        Object.assign(new Error(`status ${status} in answer to an upgrade`), {
          code: 'ECONNRESET',
        }),
      );
    }
    answered = true;
    const pairs = responseHeaderPairs(proxyRes.rawHeaders, deps.isGatewayCookie);
    socket.write(responseHead(status, [...pairs, 'Connection', 'close']), 'latin1');
    // The socket left the HTTP server's timeouts when it asked to upgrade: once the answer is
    // written, close it outright rather than wait for the client's half of the close.
    proxyRes.pipe(socket, { end: false });
    proxyRes.on('end', () => socket.destroySoon());
    proxyRes.on('error', () => socket.destroy());
    done({ status });
  });
  proxyReq.end();
}
