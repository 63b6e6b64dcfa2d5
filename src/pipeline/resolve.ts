import type { CompiledRoute } from '../config/route-table.js';
import { isReserved } from '../routing/reserved.js';
import { canonicalizeHost, canonicalizeTarget } from '../routing/canonicalize.js';
import type { CanonicalHost, CanonicalTarget, TargetRejection } from '../routing/canonicalize.js';
import type { Answer } from './answer.js';
import type { Arrival, RequestHead } from './context.js';

function countHostHeaders(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.toLowerCase() === 'host') count++;
  return count;
}

/** Step 1 done: the canonical host and target (SPEC §7). */
export interface Canonical {
  readonly host: CanonicalHost;
  readonly target: CanonicalTarget;
}

/**
 * Step 1 (SPEC §2, §7): the canonical host and target, or a 400. What the policy judges is
 * exactly what the upstream receives.
 */
export function canonicalize(head: RequestHead): Canonical | Answer {
  // Two Host headers could be read differently by us and the upstream: refuse them.
  const host =
    countHostHeaders(head.rawHeaders) === 1 ? canonicalizeHost(head.headers.host) : undefined;
  if (host === undefined)
    return { answer: 'page', code: 'ZTNA_ERR_REQUEST_BAD_HOST', note: 'bad_host' };
  const result = canonicalizeTarget(head.url ?? '');
  if (!result.ok)
    return {
      answer: 'page',
      code: 'ZTNA_ERR_REQUEST_BAD_TARGET',
      note: `bad_target:${result.rejection}`,
    };
  return { host, target: result.target };
}

/** Where a request goes: a route, or the gateway's own endpoints under `/.ztna/`. */
export type Destination =
  | { readonly route: CompiledRoute; readonly endpoint: false }
  | { readonly route: CompiledRoute | undefined; readonly endpoint: true };

/**
 * Step 2: the route, by host and longest path prefix, or a 404; a 400 for a double-encoded
 * target the route does not allow. Reserved paths belong to the gateway on every route host,
 * even where no route covers their path.
 */
export function route(context: Arrival & Canonical): Destination | Answer {
  const { index } = context.table;
  const matched = index.match(context.host.host, context.target.segments);
  const endpoint = isReserved(context.target) && index.hasHost(context.host.host);
  // Step 1's last check, which needs the route: double encoding only where the route allows it
  // (never on the gateway's own endpoints, and no route allows it for a request it does not take).
  const allowsDoubleEncoding = !endpoint && matched?.allowDoubleEncoding === true;
  if (context.target.doubleEncoded && !allowsDoubleEncoding)
    return {
      answer: 'page',
      code: 'ZTNA_ERR_REQUEST_BAD_TARGET',
      note: 'bad_target:double_encoding' satisfies `bad_target:${TargetRejection}`,
    };
  if (endpoint) return { route: matched, endpoint: true };
  if (matched === undefined)
    return { answer: 'page', code: 'ZTNA_ERR_ROUTE_NOT_FOUND', note: 'no_route' };
  return { route: matched, endpoint: false };
}
