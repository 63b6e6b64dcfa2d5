import type { BearerResult } from '../auth/bearer.js';
import type { RefreshOutcome } from '../auth/refresh.js';
import type { CompiledRoute } from '../config/route-table.js';
import type { AuthEvent, CredentialKind } from '../metrics/registry.js';
import type { CollectedPosture } from '../posture/collect.js';
import type { AccessRequest, Grant } from '../jit/grants.js';
import type { Identity } from '../policy/types.js';
import type { LoadedSession } from '../session/read-session.js';
import type { RequestHead } from './context.js';

/** A browser session as the steps see it: its id and a private copy of its data. */
export type LiveSession = LoadedSession;

/**
 * Everything the steps ask of the outside world. `serve` answers from the session store, the
 * IdP and the JWT verifiers (pipeline/serve-sources.ts); `explain` and `test` answer from the
 * admin's description, without I/O (pipeline/explain.ts). The steps are the same code.
 */
export interface PipelineSources {
  /** Epoch ms. */
  now(): number;
  /** The bearer token this request presents to this route, if the route takes one. */
  bearerToken(head: RequestHead, route: CompiledRoute): string | undefined;
  verifyBearer(token: string, now: number): Promise<BearerResult>;
  /** The session the request's cookie names, or undefined; throws when the store is down. */
  readSession(head: RequestHead, scheme: 'http' | 'https'): Promise<LiveSession | undefined>;
  /** Keeps a live session from idling out (the store's idle timeout). */
  touchSession(session: LiveSession): void;
  /**
   * Writes a session whose data a step changed (device bound, tokens refreshed), only if it
   * still exists: false when it was ended meanwhile (the request must not go on with it).
   */
  saveSession(session: LiveSession): Promise<boolean>;
  /** Ends a session: gone from the store, its WebSockets closed. */
  endSession(session: LiveSession): Promise<void>;
  /** Refreshes expired IdP tokens; on `refreshed`, `session.data` holds the new tokens and user. */
  refreshSession(session: LiveSession): Promise<RefreshOutcome>;
  collectPosture(
    head: RequestHead,
    peerIp: string,
    requestId: string,
    now: number,
  ): Promise<CollectedPosture>;
  /** A person's running just-in-time grants (SPEC §13); none for workloads. */
  grantsOf(identity: Identity, now: number): Promise<readonly Grant[]>;
  /** The person's pending request for this grant, if they asked already. */
  pendingRequestOf(identity: Identity, grant: string): Promise<AccessRequest | undefined>;
  /** A grant let a request through: its first use is an audit line (`used`). */
  grantUsed(grant: Grant, requestId: string): void;
  /** Counts what happened on the way (SPEC §10); explain counts nothing. */
  observe: Observer;
}

export interface Observer {
  credentialAge(kind: CredentialKind, seconds: number): void;
  authEvent(event: AuthEvent): void;
  /** An operational warning (not the audit line). */
  warn(fields: Record<string, unknown>, message: string): void;
  /** A step failed (store down, a bug): logged with its cause; the request gets an error page. */
  failure(requestId: string, error: unknown): void;
}
