import type { IncomingHttpHeaders } from 'node:http';
import type { SessionData } from 'express-session';
import signature from 'cookie-signature';
import { readCookie } from '../lib/cookie-header.js';
import type { CookieNames } from './cookie-names.js';
import type { GatewayStore } from './store.js';

/**
 * Session data as a request reads it (GatewayStore.getForRequest): its top-level fields are the
 * request's own to replace, what they hold may be frozen and shared. The identity and tokens are
 * readonly types already; the cookie is made one here, so changing any of them in place is a
 * compile error rather than a TypeError with one store and a silent change with the other.
 */
export type RequestSessionData = Omit<SessionData, 'cookie'> & {
  readonly cookie: Readonly<SessionData['cookie']>;
};

/** A session looked up outside express-session: its id and its data. */
export interface LoadedSession {
  readonly id: string;
  data: RequestSessionData;
}

/**
 * Reads the session of a raw request the way express-session would: the cookie must carry a
 * valid signature (`s:<id>.<hmac>`) before the store is asked for the id.
 */
export function createSessionReader(
  store: Pick<GatewayStore, 'getForRequest'>,
  secret: string,
  names: CookieNames,
) {
  const verified = createVerifiedCookieCache();

  /** The session id a signed cookie value carries, or undefined when the signature is wrong. */
  function sessionIdOf(value: string): string | undefined {
    const known = verified.get(value);
    if (known !== undefined) return known;
    const id = signature.unsign(value.slice(2), secret);
    if (id === false) return undefined;
    verified.set(value, id);
    return id;
  }

  return function readSession(
    headers: IncomingHttpHeaders,
    scheme: 'http' | 'https',
  ): Promise<LoadedSession | undefined> {
    const raw = readCookie(headers.cookie, names.session(scheme));
    if (raw === undefined) return Promise.resolve(undefined);
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return Promise.resolve(undefined);
    }
    if (!value.startsWith('s:')) return Promise.resolve(undefined);
    const id = sessionIdOf(value);
    if (id === undefined) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      store.getForRequest(id, (error, data) =>
        error ? reject(error) : resolve(data ? { id, data } : undefined),
      );
    });
  };
}

export type SessionReader = ReturnType<typeof createSessionReader>;

/** How many verified cookie values are remembered; about 100 bytes each. */
const VERIFIED_COOKIES = 20_000;

/**
 * Signed cookie values already verified, so that a session's requests cost one HMAC, not one
 * each (it was 5% of a request's CPU). Only values that passed verification are kept, and a
 * hit still needs the session in the store: a revoked session is gone whatever is cached here.
 * Bounded: when full, the oldest half is forgotten.
 */
function createVerifiedCookieCache() {
  const entries = new Map<string, string>();
  return {
    get: (value: string) => entries.get(value),
    set(value: string, id: string): void {
      if (entries.size >= VERIFIED_COOKIES) {
        let drop = entries.size / 2;
        for (const key of entries.keys()) {
          entries.delete(key);
          if (--drop <= 0) break;
        }
      }
      entries.set(value, id);
    },
  };
}
