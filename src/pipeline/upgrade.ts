import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Recorder } from '../audit/record.js';
import { judgeSession } from '../auth/authenticate.js';
import { describe } from '../auth/oidc-client.js';
import type { RequestContext } from '../context.js';
import { ERROR_CODES } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { AssertionSigner } from '../assertion/sign.js';
import { bearerTokenOf } from '../auth/bearer.js';
import type { BearerAuthenticator } from '../auth/bearer.js';
import type { Forwarder } from '../proxy/forward.js';
import type { WebSocketRegistry } from '../proxy/websocket-registry.js';
import { isReserved } from '../reserved.js';
import type { SessionReader } from '../session/read-session.js';
import { decideRequest } from './decide.js';
import type { DeviceStep } from './device.js';
import { resolveRequest } from './resolve.js';

export interface UpgradeDeps {
  readonly beginRequest: (req: IncomingMessage) => RequestContext;
  readonly readSession: SessionReader;
  readonly checkDevice: DeviceStep;
  readonly authenticateBearer: BearerAuthenticator;
  readonly signAssertion: AssertionSigner;
  readonly webSockets: WebSocketRegistry;
  readonly forwarder: Forwarder;
  readonly record: Recorder;
  readonly log: Logger;
  readonly sessionMaxAgeMs: number;
  readonly now: () => number;
}

/**
 * Answers a request that never reached express (a refused upgrade, a CONNECT) with a plain
 * HTTP response on the raw socket, and records it.
 */
export function refuseOnSocket(
  socket: Socket,
  req: IncomingMessage,
  context: RequestContext,
  code: ErrorCode,
  record: Recorder,
): void {
  const { status, title } = ERROR_CODES[code];
  const body = JSON.stringify({
    error: code,
    request_id: context.requestId,
    ...(context.decision && { reason: context.decision.reason }),
  });
  context.outcome ??= 'error';
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  record(req, undefined, context, status);
}

/**
 * The pipeline for WebSocket upgrades, which bypass express: the same steps, authorized on the
 * upgrade request itself (SPEC §5), then the socket is handed to the upstream. Sessions are read
 * straight from the store (there is no response to set cookies on), so nothing is refreshed or
 * bound here; a browser's regular requests do that.
 */
export function createUpgradeHandler(deps: UpgradeDeps) {
  return async function handleUpgrade(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): Promise<void> {
    socket.on('error', () => socket.destroy());
    const context = deps.beginRequest(req);
    const refuse = (code: ErrorCode) => refuseOnSocket(socket, req, context, code, deps.record);
    let sessionId: string | undefined;
    try {
      // Only WebSockets: any other protocol switch (h2c above all) would give the client a
      // channel to the upstream that no later request of it passes our checks on.
      if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
        context.note = 'bad_upgrade';
        return refuse('ZTNA_ERR_REQUEST_BAD_UPGRADE');
      }
      const refusal = resolveRequest(req, context);
      if (refusal !== undefined) return refuse(refusal);
      const route = context.route;
      if (route === undefined || isReserved(context.target!))
        return refuse('ZTNA_ERR_ROUTE_NOT_FOUND');
      if (!route.websockets) return refuse('ZTNA_ERR_WEBSOCKETS_DISABLED');
      const token = route.auth.has('bearer') ? bearerTokenOf(req.headers) : undefined;
      if (!route.public && token !== undefined) {
        const result = await deps.authenticateBearer(token, deps.now());
        if (!result.ok) {
          context.outcome = 'login';
          context.note = `bearer:${result.reason}`;
          return refuse('ZTNA_ERR_BEARER_INVALID');
        }
        context.identity = result.identity;
        context.auth = 'bearer';
        context.consumedAuthorization = true;
      } else if (!route.public && !route.auth.has('session')) {
        context.outcome = 'login';
        return refuse('ZTNA_ERR_BEARER_REQUIRED');
      } else if (!route.public) {
        const loaded = await deps.readSession(req, context.scheme);
        sessionId = loaded?.id;
        const verdict = judgeSession(loaded?.data, deps.now(), deps.sessionMaxAgeMs);
        if (verdict === undefined || verdict === 'expired') {
          context.outcome = 'login';
          context.note = 'unauthenticated';
          return refuse('ZTNA_ERR_AUTH_REQUIRED');
        }
        context.identity = verdict.identity;
        context.auth = 'session';
        if ((await deps.checkDevice(req, context, { ...loaded!.data })) === 'ended') {
          context.outcome = 'login';
          context.note = 'device_changed';
          return refuse('ZTNA_ERR_AUTH_REQUIRED');
        }
      }
      if (decideRequest(context, req.method, deps.now()) === 'refuse') {
        return refuse(
          context.decision?.effect === 'step_up'
            ? 'ZTNA_ERR_STEP_UP_REQUIRED'
            : 'ZTNA_ERR_POLICY_DENIED',
        );
      }
      deps.forwarder.ws(req, socket, head, context, await deps.signAssertion(context));
      if (sessionId !== undefined) deps.webSockets.add(sessionId, socket);
      deps.record(req, undefined, context, 101);
    } catch (error) {
      deps.log.error({ request_id: context.requestId, error: describe(error) }, 'upgrade failed');
      refuse('ZTNA_ERR_INTERNAL');
    }
  };
}
