import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';

/** What the gateway must remember between sending the browser to the IdP and its return. */
export interface LoginState {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** Absolute URL to return to, already validated. */
  readonly returnTo: string;
  /** Set for a step-up login: the IdP must have authenticated within this many seconds. */
  readonly maxAge?: number | undefined;
  /** True when this login was asked for by a step-up (SPEC §5). */
  readonly stepUp?: boolean | undefined;
}

/** How long a login may take at the IdP before its state expires. */
export const LOGIN_STATE_TTL_SECONDS = 600;

/**
 * Seals login state into an encrypted, authenticated cookie value (JWE, dir + A256GCM, key
 * derived from the session secret). Starting a login therefore writes nothing to the session
 * store: a flood of /.ztna/login requests cannot fill it, and no session exists before the
 * callback, so there is nothing to fixate.
 */
export function createLoginStateSealer(sessionSecret: string) {
  const key = new Uint8Array(
    hkdfSync('sha256', sessionSecret, 'ztna-gateway', 'login-state cookie v1', 32),
  );
  return {
    seal(state: LoginState): Promise<string> {
      return new EncryptJWT({ ...state })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setIssuedAt()
        .setExpirationTime(`${LOGIN_STATE_TTL_SECONDS}s`)
        .encrypt(key);
    },
    /** The state, or undefined when the value is forged, tampered, expired or malformed. */
    async open(sealed: string): Promise<LoginState | undefined> {
      try {
        const { payload } = await jwtDecrypt(sealed, key, {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
        });
        const { state, nonce, codeVerifier, returnTo, maxAge, stepUp } = payload;
        if (![state, nonce, codeVerifier, returnTo].every((v) => typeof v === 'string'))
          return undefined;
        if (maxAge !== undefined && typeof maxAge !== 'number') return undefined;
        return {
          state,
          nonce,
          codeVerifier,
          returnTo,
          maxAge,
          stepUp: stepUp === true,
        } as LoginState;
      } catch {
        return undefined;
      }
    },
  };
}

export type LoginStateSealer = ReturnType<typeof createLoginStateSealer>;
