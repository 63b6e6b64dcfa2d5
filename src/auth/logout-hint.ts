import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import { sessionRef } from '../session/store.js';

/**
 * The ID token's one use after login is the `id_token_hint` of the IdP logout (some IdPs,
 * Okta among them, require the one issued at login). Kept in the session it was the largest
 * part of one (about 850 of 3,000 bytes in the memory store: issue 11's 100,000 sessions did
 * not fit in 300 MB), so the gateway hands it to the browser instead, sealed (JWE, dir +
 * A256GCM, a key of its own derived from the session secret) in a cookie that only the
 * logout page receives. No proxied request carries it, so no request pays for it.
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
 * The longest ID token sealed into the cookie for a gateway whose request heads may hold
 * `maxHeaderBytes`; a longer one stays in the session store as before. A sealed value is about
 * 1.37 times the token plus 140 characters (encrypted JSON, base64url): it must stay within
 * the 4,096 bytes every browser keeps for a cookie, and take at most a quarter of the request
 * head, so that the logout page is never refused (431) because of it.
 */
export function maxSealedIdTokenChars(maxHeaderBytes: number): number {
  return Math.min(2_700, Math.floor((maxHeaderBytes / 4 - 160) / 1.4));
}

/**
 * Where the cookie is sent: the logout page and form only. Sign-in, the callback and every other
 * gateway page never carry it, so a stale or large one cannot get in the way of signing in.
 */
export const LOGOUT_HINT_PATH = '/.ztna/logout';

/** At most this many values of the cookie are tried at logout (one decryption each). */
export const MAX_HINTS_TRIED = 4;

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
