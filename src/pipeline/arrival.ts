import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { TLSSocket } from 'node:tls';
import type { RouteTable } from '../config/route-table.js';
import { newContext } from './context.js';
import type { RequestContext } from './context.js';
import { normalizeIp } from '../lib/cidr.js';
import { resolveClientIp, resolveScheme } from '../lib/forwarded.js';

// A client-chosen request id is kept only when it is short and plain (no log injection).
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Step 0: the request context. The route table is read once here: this request is decided and
 * forwarded by this version, whatever reloads happen meanwhile.
 */
export function createRequestStarter(
  routes: () => RouteTable,
  isTrustedProxy: (ip: string) => boolean,
) {
  return function beginRequest(req: IncomingMessage): RequestContext {
    const peer = normalizeIp(req.socket.remoteAddress ?? '');
    const incomingId = req.headers['x-request-id'];
    return newContext({
      requestId:
        typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID(),
      startedAt: performance.now(),
      table: routes(),
      peerIp: peer,
      clientIp: resolveClientIp(peer, req.headers['x-forwarded-for'], isTrustedProxy),
      scheme: resolveScheme(
        req.socket instanceof TLSSocket,
        isTrustedProxy(peer),
        req.headers['x-forwarded-proto'],
      ),
      method: req.method ?? 'GET',
    });
  };
}
