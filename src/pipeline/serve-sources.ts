import type { Logger } from 'pino';
import { bearerTokenOf } from '../auth/bearer.js';
import type { BearerAuthenticator } from '../auth/bearer.js';
import { describe } from '../auth/oidc-client.js';
import type { TokenRefresher } from '../auth/refresh.js';
import type { Metrics } from '../metrics/registry.js';
import type { PostureCollector } from '../posture/collect.js';
import type { SessionReader } from '../session/read-session.js';
import type { GatewayStore } from '../session/store.js';
import type { Observer, PipelineSources } from './sources.js';
import { granteeOf } from '../jit/grants.js';
import type { JitRecorder } from '../jit/events.js';
import { childPerValue } from '../metrics/route-meters.js';

export interface ServeSourcesDeps {
  readonly store: GatewayStore;
  readonly readSession: SessionReader;
  readonly refreshIfDue: TokenRefresher;
  readonly authenticateBearer: BearerAuthenticator;
  readonly collectPosture: PostureCollector;
  /** Closes what lives on with a session (its WebSockets) once it is gone. */
  readonly onSessionEnded: (sid: string) => void;
  readonly recordJit: JitRecorder;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
}

/** How many used grants one instance remembers before it forgets the expired ones. */
const MARKED_USED_LIMIT = 10_000;

function callback(resolve: () => void, reject: (error: unknown) => void) {
  return (error?: unknown) => (error ? reject(error) : resolve());
}

/** The pipeline's sources for `serve`: the session store, the IdP, the JWT verifiers. */
export function createServeSources(deps: ServeSourcesDeps): PipelineSources {
  const { store, metrics, log } = deps;
  const ageOf = childPerValue((kind) => metrics.credentialAge.labels({ kind }));
  const observe: Observer = {
    credentialAge: (kind, seconds) => ageOf(kind).observe(seconds),
    authEvent: (event) => metrics.authEvents.inc({ event }),
    warn: (fields, message) => log.warn(fields, message),
    failure: (requestId, error) =>
      log.error(
        {
          request_id: requestId,
          error: describe(error),
          cause: describe((error as Error).cause),
        },
        'request failed',
      ),
  };
  /** Grants this instance has marked used, by id, with their expiry (pruned once many). */
  const markedUsed = new Map<string, number>();
  return {
    now: deps.now,
    bearerToken: (head, route) =>
      route.auth.has('bearer') ? bearerTokenOf(head.headers) : undefined,
    verifyBearer: deps.authenticateBearer,
    readSession: (head, scheme) => deps.readSession(head.headers, scheme),
    // The idle timeout counts from the last use; a failed touch is not worth failing a request.
    touchSession: (session) => store.touch?.(session.id, session.data, () => undefined),
    saveSession: (session) => store.update(session.id, session.data),
    endSession: async (session) => {
      await new Promise<void>((resolve, reject) =>
        store.destroy(session.id, callback(resolve, reject)),
      );
      deps.onSessionEnded(session.id);
    },
    refreshSession: deps.refreshIfDue,
    collectPosture: (head, peerIp, requestId, now) =>
      deps.collectPosture(head.headers, peerIp, requestId, now),
    grantsOf: async (identity, now) => {
      const grantee = granteeOf(identity);
      return grantee === undefined ? [] : store.grants.grantsOf(grantee, now);
    },
    pendingRequestOf: async (identity, grant) => {
      const grantee = granteeOf(identity);
      if (grantee === undefined) return undefined;
      return store.grants.pendingOf(grantee, grant);
    },
    grantUsed: (grant, requestId) => {
      // Once per grant, whichever instance sees the first use; never delays the request. This
      // instance asks the store once per grant, not on every request the grant lets in.
      if (markedUsed.has(grant.id)) return;
      if (markedUsed.size >= MARKED_USED_LIMIT)
        for (const [id, expiresAt] of markedUsed)
          if (expiresAt <= deps.now()) markedUsed.delete(id);
      markedUsed.set(grant.id, grant.expiresAt);
      store.grants.markUsed(grant.id).then(
        (first) => {
          if (first) deps.recordJit({ event: 'used', subject: grant, by: 'gateway', requestId });
        },
        (error: unknown) => {
          markedUsed.delete(grant.id); // asked again on its next use
          log.warn({ error: describe(error) }, 'could not mark a grant used');
        },
      );
    },
    observe,
  };
}
