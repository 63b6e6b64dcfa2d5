import type { RequestHandler } from 'express';
import session from 'express-session';
import type { Store } from 'express-session';
import { contextOf } from '../pipeline/context.js';
import type { CookieNames } from './cookie-names.js';

/** An object that reads and writes through to `store` but keeps its own own-properties. */
function storeView(store: Store): Store {
  return Object.create(store) as Store;
}

export interface SessionMiddlewareOptions {
  readonly secret: string;
  readonly store: Store;
  readonly names: CookieNames;
  readonly cookieDomain: string | undefined;
  readonly maxAgeMs: number;
}

/**
 * express-session, configured per SPEC §4.3: HttpOnly, SameSite=Lax, Secure and `__Host-` on
 * HTTPS, nothing stored until login (`saveUninitialized: false`), so anonymous requests cost
 * the store nothing. Two instances, because the cookie name depends on the scheme; the scheme
 * comes from the request context (TLS socket, or X-Forwarded-Proto of a trusted proxy).
 */
export function createSessionMiddleware(options: SessionMiddlewareOptions): RequestHandler {
  const common = {
    secret: options.secret,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    unset: 'destroy' as const,
  };
  const cookie = {
    httpOnly: true,
    sameSite: 'lax' as const,
    path: '/',
    domain: options.cookieDomain,
    maxAge: options.maxAgeMs,
  };
  // express-session writes its session factory (`store.generate`, which carries the cookie
  // name and flags) onto the store object: each instance gets its own view of the one store,
  // or the last instance's Secure cookie would be used for plain-HTTP logins too.
  const plain = session({
    ...common,
    store: storeView(options.store),
    name: options.names.session('http'),
    proxy: false,
    cookie: { ...cookie, secure: false },
  });
  // `proxy: true` makes express-session accept the X-Forwarded-Proto that the context already
  // vetted: this instance is only used when the context says the request is HTTPS.
  const secure = session({
    ...common,
    store: storeView(options.store),
    name: options.names.session('https'),
    proxy: true,
    cookie: { ...cookie, secure: true },
  });
  return function loadSession(req, res, next) {
    const handler = contextOf(req).scheme === 'https' ? secure : plain;
    handler(req, res, next);
  };
}
