import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import { sessionRef } from '../session/store.js';

/**
 * The ID token's one use after login is the `id_token_hint` of the IdP logout (some IdPs,
 * Okta among them, require the one issued at login). Kept in the session it was the largest
 * part of one (about 850 of 3,000 bytes in the memory store: issue 11's 100,000 sessions did
 * not fit in 300 MB), so the gateway hands it to the browser instead, sealed (JWE, dir +
 * A256GCM, a key of its own derived from the session secret) in a cookie that only the
 * gateway's own paths receive. No proxied request carries it, so no request pays for it.
 *
 * The sealed value names the session it was made for (its admin reference, a hash of the id):
 * a value planted from a sibling host, or kept from an earlier login, is never sent as the
 * hint of another session. The browser cannot read the token, and without the cookie (cleared,
 * too large, another browser) the logout still ends the gateway's session, only without a hint.
 */
export interface LogoutHintSealer {
  seal(idToken: string, sid: string, maxAgeSeconds: number): Promise<string>;
  /** The ID token sealed for session `sid`, or undefined (forged, tampered, expired, other session). */
  open(sealed: string, sid: string): Promise<string | undefined>;
}

/**
 * ID tokens longer than this stay in the session store as before: sealed, with its name, the
 * cookie would pass the 4,096 bytes every browser keeps (a sealed value is about 4/3 of the
 * token plus 150 characters).
 */
export const MAX_SEALED_ID_TOKEN_CHARS = 2_700;

/** Where the cookie is sent: only the gateway's own endpoints (logout is `/.ztna/logout`). */
export const LOGOUT_HINT_PATH = '/.ztna/';

export function createLogoutHintSealer(sessionSecret: string): LogoutHintSealer {
  const key = new Uint8Array(
    hkdfSync('sha256', sessionSecret, 'ztna-gateway', 'logout-hint cookie v1', 32),
  );
  return {
    seal(idToken, sid, maxAgeSeconds) {
      return new EncryptJWT({ idt: idToken, ref: sessionRef(sid) })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setIssuedAt()
        .setExpirationTime(`${Math.max(1, Math.ceil(maxAgeSeconds))}s`)
        .encrypt(key);
    },
    async open(sealed, sid) {
      try {
        const { payload } = await jwtDecrypt(sealed, key, {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
        });
        const { idt, ref } = payload;
        return typeof idt === 'string' && ref === sessionRef(sid) ? idt : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** The cookie's attributes, the same when it is set and when it is cleared. */
export function logoutHintCookieAttributes(
  scheme: 'http' | 'https',
  cookieDomain: string | undefined,
) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: scheme === 'https',
    path: LOGOUT_HINT_PATH,
    // With a cookie domain the session, and so its logout, spans every host under it.
    ...(cookieDomain !== undefined && { domain: cookieDomain }),
  };
}
