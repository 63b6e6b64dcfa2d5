import { stat, readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
} from 'jose';
import type { JWSHeaderParameters, JWTPayload, FlattenedJWSInput, CryptoKey } from 'jose';
import type { Logger } from 'pino';
import type { JwtIssuerSettings } from '../config/gateway-settings.js';
import { JWT_ALGORITHMS } from '../config/gateway-schema.js';

/** Why a JWT was refused: stable, bounded (log fields, metric-safe). */
export type JwtRejection =
  | 'malformed'
  | 'too_large'
  | 'bad_algorithm'
  | 'unknown_issuer'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_claims'
  | 'keys_unavailable';

export type JwtVerdict =
  | { readonly ok: true; readonly payload: JWTPayload; readonly issuer: JwtIssuerSettings }
  | { readonly ok: false; readonly reason: JwtRejection };

type KeySet = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/** Tokens this long are not credentials (real ones are well under 2 KiB); refuse before parsing. */
const MAX_TOKEN_BYTES = 8 * 1024;
const ALLOWED = new Set<string>(JWT_ALGORITHMS);

/**
 * A JWKS file that is re-read when a token names a key it does not have (key rotation by
 * replacing the file), at most once per `minReloadMs`, and only when the file changed.
 */
function createFileKeySet(path: string, log: Logger, minReloadMs = 5000): KeySet {
  let keys: KeySet | undefined;
  let mtimeMs = -1;
  let lastCheck = 0;
  async function load(): Promise<void> {
    const info = await stat(path);
    if (info.mtimeMs === mtimeMs && keys !== undefined) return;
    keys = createLocalJWKSet(
      JSON.parse(await readFile(path, 'utf8')) as Parameters<typeof createLocalJWKSet>[0],
    ) as KeySet;
    mtimeMs = info.mtimeMs;
    log.info({ jwks_file: path }, 'JWKS file loaded');
  }
  return async (header, token) => {
    if (keys === undefined) await load();
    try {
      return await keys!(header, token);
    } catch (error) {
      const now = Date.now();
      if (
        (error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY' ||
        now - lastCheck < minReloadMs
      )
        throw error;
      lastCheck = now;
      await load();
      return keys!(header, token);
    }
  };
}

/** Maps jose's errors (by `.code`, DESIGN §3) to our bounded reasons. */
function rejectionOf(error: unknown): JwtRejection {
  const { code, claim } = error as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claim === 'nbf' || claim === 'iat' ? 'not_yet_valid' : 'bad_claims';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad_signature';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'unknown_key';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'bad_algorithm';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ENOENT':
      return 'keys_unavailable';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_GENERIC':
      return 'malformed';
    default:
      // A failed JWKS fetch surfaces as a plain fetch error.
      return error instanceof TypeError ? 'keys_unavailable' : 'malformed';
  }
}

export interface JwtVerifierOptions {
  readonly clockSkewMs: number;
  /**
   * Tokens issued longer ago than this are refused even if `exp` says otherwise; `iat` is then
   * required and must not be in the future. Undefined: `exp` alone bounds the token.
   */
  readonly maxTokenAgeMs?: number;
  readonly log: Logger;
  /** Verified tokens remembered (LRU); each entry is dropped at its `exp`. */
  readonly cacheSize?: number;
}

/**
 * Verifies JWTs from configured issuers (SPEC §6, §2): the algorithm must be one of ES256,
 * EdDSA, RS256, PS256 (so `none` and HS256-with-a-public-key are refused before any key is
 * touched), the issuer must be configured, and jose checks signature, `aud`, `exp`, `nbf`,
 * `iat` (required, not in the future, not older than `maxTokenAgeMs`) with bounded skew.
 * Verified tokens are cached until their `exp`, so a client sending the same token on every
 * request costs one signature check.
 */
export function createJwtVerifier(
  issuers: readonly JwtIssuerSettings[],
  options: JwtVerifierOptions,
) {
  const keySets = new Map<string, KeySet>();
  for (const issuer of issuers) {
    // Remote key sets are cached for 10 minutes; an unknown kid (a rotation) refetches, at most
    // every 5 s, so a flood of made-up kids cannot turn into a flood of JWKS requests.
    keySets.set(
      issuer.issuer,
      issuer.jwksUri !== undefined
        ? (createRemoteJWKSet(issuer.jwksUri, {
            cacheMaxAge: 10 * 60_000,
            cooldownDuration: 5_000,
            timeoutDuration: 5_000,
          }) as KeySet)
        : createFileKeySet(issuer.jwksFile!, options.log),
    );
  }
  const byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
  const cache = new Map<string, { verdict: JwtVerdict & { ok: true }; expiresAt: number }>();
  const cacheSize = options.cacheSize ?? 5_000;

  function remember(token: string, verdict: JwtVerdict & { ok: true }): void {
    const exp = verdict.payload.exp;
    if (typeof exp !== 'number') return;
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(token, { verdict, expiresAt: exp * 1000 });
  }

  async function verifyUncached(token: string, now: number): Promise<JwtVerdict> {
    let header: JWSHeaderParameters;
    let iss: string | undefined;
    try {
      header = decodeProtectedHeader(token) as JWSHeaderParameters;
      iss = decodeJwt(token).iss;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    // We understand no JWS extensions; RFC 7515 §4.1.11 says refuse what is marked critical.
    if (header.crit !== undefined) return { ok: false, reason: 'malformed' };
    const alg = header.alg;
    if (alg === undefined || !ALLOWED.has(alg)) return { ok: false, reason: 'bad_algorithm' };
    const issuer = iss === undefined ? undefined : byIssuer.get(iss);
    if (issuer === undefined) return { ok: false, reason: 'unknown_issuer' };
    if (!issuer.algorithms.includes(alg)) return { ok: false, reason: 'bad_algorithm' };
    try {
      const { payload } = await jwtVerify(token, keySets.get(issuer.issuer)!, {
        issuer: issuer.issuer,
        audience: [...issuer.audiences],
        algorithms: [...issuer.algorithms],
        clockTolerance: Math.round(options.clockSkewMs / 1000),
        ...(options.maxTokenAgeMs !== undefined && {
          maxTokenAge: Math.round(options.maxTokenAgeMs / 1000),
        }),
        requiredClaims: options.maxTokenAgeMs === undefined ? ['exp'] : ['exp', 'iat'],
        currentDate: new Date(now),
      });
      return { ok: true, payload, issuer };
    } catch (error) {
      return { ok: false, reason: rejectionOf(error) };
    }
  }

  return {
    async verify(token: string, now: number): Promise<JwtVerdict> {
      if (token.length > MAX_TOKEN_BYTES) return { ok: false, reason: 'too_large' };
      const cached = cache.get(token);
      if (cached !== undefined) {
        // Never past exp: an expired entry is dropped and the token verified (and refused) anew.
        if (now < cached.expiresAt) return cached.verdict;
        cache.delete(token);
      }
      const verdict = await verifyUncached(token, now);
      if (verdict.ok) remember(token, verdict);
      return verdict;
    },
  };
}

export type JwtVerifier = ReturnType<typeof createJwtVerifier>;
