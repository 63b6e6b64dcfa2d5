import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { createReplayMemory } from '../lib/replay-memory.js';

/** The `events` member that makes a JWT a logout token (OIDC Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Asymmetric algorithms only: `none` and HMAC (which would take a public key as a secret) never. */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
];

/** Logout tokens are sent the moment the IdP session ends; an old one is a replay. */
const MAX_AGE_S = 300;
const CLOCK_SKEW_S = 60;

/** What a verified logout token asks to end: the IdP session `sid`, or every session of `sub`. */
export interface LogoutRequest {
  readonly sid: string | undefined;
  readonly sub: string | undefined;
  readonly jti: string;
}

export type LogoutTokenVerdict =
  | { readonly ok: true; readonly logout: LogoutRequest }
  | { readonly ok: false; readonly reason: string };

/** The IdP as the verifier needs it, read from discovery (so it follows the IdP's metadata). */
export interface LogoutTokenIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
}

export interface LogoutTokenVerifierOptions {
  readonly clientId: string;
  readonly idp: () => Promise<LogoutTokenIssuer>;
  readonly now: () => number;
}

function refusal(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim:${error.claim}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown_key';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  return 'invalid';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The checks of §2.6 that jose does not make itself. */
function readLogout(payload: JWTPayload): LogoutRequest | string {
  if (!isObject(payload.events) || !isObject(payload.events[BACKCHANNEL_LOGOUT_EVENT]))
    return 'not_a_logout_token';
  // A nonce would make it an ID token in disguise (§2.4: "MUST NOT contain a nonce").
  if ('nonce' in payload) return 'nonce';
  const sid = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined;
  const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
  if (sid === undefined && sub === undefined) return 'no_sid_or_sub';
  if (typeof payload.jti !== 'string' || payload.jti === '') return 'no_jti';
  return { sid, sub, jti: payload.jti };
}

/**
 * Verifies logout tokens per OIDC Back-Channel Logout 1.0 §2.6: signed by the IdP with a key
 * from its JWKS, `iss` the IdP, `aud` this client, fresh `iat`, the logout event, `sid` and/or
 * `sub`, no `nonce`, and a `jti` never seen before by this instance.
 */
export function createLogoutTokenVerifier(options: LogoutTokenVerifierOptions) {
  let keys: { uri: string; set: ReturnType<typeof createRemoteJWKSet> } | undefined;
  const seen = createReplayMemory();

  function keySet(jwksUri: string) {
    if (keys?.uri !== jwksUri) keys = { uri: jwksUri, set: createRemoteJWKSet(new URL(jwksUri)) };
    return keys.set;
  }

  return async function verifyLogoutToken(token: string): Promise<LogoutTokenVerdict> {
    const idp = await options.idp();
    const now = options.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet(idp.jwksUri), {
        issuer: idp.issuer,
        audience: options.clientId,
        algorithms: ALGORITHMS,
        requiredClaims: ['iat', 'jti'],
        maxTokenAge: MAX_AGE_S,
        clockTolerance: CLOCK_SKEW_S,
        currentDate: new Date(now),
      }));
    } catch (error) {
      return { ok: false, reason: refusal(error) };
    }
    const logout = readLogout(payload);
    if (typeof logout === 'string') return { ok: false, reason: logout };
    const acceptableUntil = ((payload.iat ?? 0) + MAX_AGE_S + CLOCK_SKEW_S) * 1000;
    const seenBefore = seen.remember(logout.jti, acceptableUntil, now);
    if (seenBefore !== 'new') return { ok: false, reason: seenBefore };
    return { ok: true, logout };
  };
}

export type LogoutTokenVerifier = ReturnType<typeof createLogoutTokenVerifier>;
