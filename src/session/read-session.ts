import type { IncomingHttpHeaders } from 'node:http';
import type { SessionData, Store } from 'express-session';
import signature from 'cookie-signature';
import { readCookie } from '../lib/cookie-header.js';
import type { CookieNames } from './cookie-names.js';

/** A session looked up outside express-session: its id and a private copy of its data. */
export interface LoadedSession {
  readonly id: string;
  data: SessionData;
}

/**
 * Reads the session of a raw request the way express-session would: the cookie must carry a
 * valid signature (`s:<id>.<hmac>`) before the store is asked for the id.
 */
export function createSessionReader(store: Store, secret: string, names: CookieNames) {
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
    const id = signature.unsign(value.slice(2), secret);
    if (id === false) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      store.get(id, (error, data) =>
        error ? reject(error) : resolve(data ? { id, data } : undefined),
      );
    });
  };
}

export type SessionReader = ReturnType<typeof createSessionReader>;
