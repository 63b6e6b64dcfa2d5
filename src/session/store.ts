import { createHash } from 'node:crypto';
import type { SessionData, Store } from 'express-session';
import type { GrantStore } from '../jit/grant-store.js';

/** A session as the admin API shows it: never its id (a credential), only a reference. */
export interface SessionSummary {
  /** First 16 hex digits of the SHA-256 of the session id: enough to tell sessions apart. */
  readonly ref: string;
  readonly sub: string;
  readonly email: string | undefined;
  readonly createdAt: number | undefined;
  readonly deviceId: string | undefined;
}

/**
 * The session store behind express-session, with what the gateway adds: sessions found by user
 * (sub or email) for the admin API, revocation, a count and a health check (SPEC §9, §12).
 */
export interface GatewayStore extends Store {
  /**
   * Writes a changed session only if it still exists; false when it was destroyed or revoked
   * meanwhile. A request in flight (a device binding, a token refresh) must never bring back a
   * session that logout or an admin ended while it ran (issue 12, item 1).
   */
  update(sid: string, data: SessionData): Promise<boolean>;
  /**
   * The session for one request through the pipeline: what `get` gives, except that its nested
   * parts (user, claims, cookie) may be frozen and shared with other reads. Only its top-level
   * fields are the caller's to change (a refresh sets `tokens` and `user`, a device binding
   * `deviceId`); express-session, which changes what it gets in place, uses `get`.
   */
  getForRequest(sid: string, callback: (err: unknown, data?: SessionData | null) => void): void;
  /** Live sessions of a user, by `sub` or email. */
  listUserSessions(user: string): Promise<SessionSummary[]>;
  /** Ends every session of a user; returns their ids (to close their WebSockets). */
  revokeUser(user: string): Promise<string[]>;
  /**
   * Ends the sessions found under these index keys (see `userKeysOf`) for which `where` holds
   * (all of them without it); returns their ids.
   */
  revokeIndexed(
    keys: readonly string[],
    where?: (data: Partial<SessionData>) => boolean,
  ): Promise<string[]>;
  count(): Promise<number>;
  /** Just-in-time access requests and grants (SPEC §13), kept beside the sessions. */
  readonly grants: GrantStore;
  /** Whether the store answers now (for /readyz). */
  ping(): Promise<boolean>;
  shutdown(): Promise<void>;
}

/** The admin-facing reference of a session id. */
export function sessionRef(sid: string): string {
  return createHash('sha256').update(sid).digest('hex').slice(0, 16);
}

/** The index keys a session is found under: its user's sub and email, and its IdP session. */
export function userKeysOf(data: Partial<SessionData>): string[] {
  const user = data.user;
  if (user === undefined) return [];
  return [
    `sub:${user.sub}`,
    ...(user.email === undefined ? [] : [`email:${user.email.toLowerCase()}`]),
    ...(data.idpSid === undefined ? [] : [idpSessionKey(data.idpSid)]),
  ];
}

/** The index key of the sessions signed in through one IdP session (back-channel logout). */
export function idpSessionKey(sid: string): string {
  return `idpsid:${sid}`;
}

/** The index key of a user's sessions by the IdP's subject. */
export function subjectKey(sub: string): string {
  return `sub:${sub}`;
}

/** The index keys to look a user up under, for the admin's `?user=`. */
export function lookupKeysFor(user: string): string[] {
  return [`sub:${user}`, `email:${user.toLowerCase()}`];
}

export function summarize(sid: string, data: Partial<SessionData>): SessionSummary {
  return {
    ref: sessionRef(sid),
    sub: data.user?.sub ?? '',
    email: data.user?.email,
    createdAt: data.createdAt,
    deviceId: data.deviceId,
  };
}
