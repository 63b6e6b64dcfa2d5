import type { Answer } from './answer.js';
import type { RequestHead, Resolved } from './context.js';
import { originOf } from './context.js';

/**
 * Only WebSockets: any other protocol switch (h2c above all) would give the client a channel
 * to the upstream that no later request of it passes our checks on.
 */
export function checkUpgradeRequest(head: RequestHead): Answer | undefined {
  if (head.method === 'GET' && head.headers.upgrade?.toLowerCase() === 'websocket')
    return undefined;
  return { answer: 'refuse', code: 'ZTNA_ERR_REQUEST_BAD_UPGRADE', note: 'bad_upgrade' };
}

/** `Origin` as an origin string, or undefined when it is not a valid http(s) origin. */
function parsedOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A WebSocket carries the browser's cookies whatever page opened it, so a cross-site page could
 * otherwise talk to an app as its user (cross-site WebSocket hijacking). SPEC §2: the `Origin`
 * must be the route's own origin or one of its `allowed_origins`; an upgrade without `Origin`
 * comes from a non-browser client and is not cross-site.
 */
export function checkWebSocketTarget(context: Resolved, head: RequestHead): Answer | undefined {
  if (!context.route.websockets)
    return {
      answer: 'refuse',
      code: 'ZTNA_ERR_WEBSOCKETS_DISABLED',
      note: 'websockets_disabled',
    };
  const origin = head.headers.origin;
  if (origin === undefined) return undefined;
  const given = parsedOrigin(origin);
  if (
    given !== undefined &&
    (given === parsedOrigin(originOf(context)) || context.route.allowedOrigins.has(given))
  )
    return undefined;
  return { answer: 'refuse', code: 'ZTNA_ERR_WEBSOCKET_ORIGIN', note: 'cross_site_upgrade' };
}
