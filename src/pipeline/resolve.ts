import type { IncomingMessage } from 'node:http';
import type { RequestContext } from '../context.js';
import type { ErrorCode } from '../errors.js';
import { isReserved } from '../reserved.js';
import { canonicalizeHost, canonicalizeTarget } from '../routing/canonicalize.js';

function countHostHeaders(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.toLowerCase() === 'host') count++;
  return count;
}

/**
 * Steps 1 and 2 (SPEC §2, §7): canonical host and target, then the route. Returns the error
 * to answer with, or undefined. Afterwards `req.url` is the canonical target: everything
 * downstream (express, the reserved router, http-proxy) sees only that.
 */
export function resolveRequest(
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
