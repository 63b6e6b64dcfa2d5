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
 * Where an issuer's keys come from. `now` is the gateway's clock; jose's remote key sets keep
 * their own (real) time for their cache and cooldown.
 */
interface FoundKey {
  readonly key: CryptoKey;
  /** The key set it came from, when the source can tell (see `current`). */
  readonly keySet: object | undefined;
}

interface KeySource {
  getKey(header: JWSHeaderParameters, token: FlattenedJWSInput, now: number): Promise<FoundKey>;
  /**
   * The key set in effect, when it is known without asking (no re-check is due): the same
   * object for as long as the keys have not changed. Undefined when only `getKey` can tell.
   */
  current(now: number): object | undefined;
}

/**
 * A JWKS file, re-read when it changed. Checked at most every `minReloadMs` of the gateway's
 * clock, so a key removed from the file stops verifying anything (cached verdicts included)
 * even when no new key shows up (SPEC §6); and, as before, when a token names a key the file
 * does not have (a rotation), at most every `minReloadMs` of real time, so a flood of made-up
 * kids costs one `stat` per interval.
 */
function createFileKeySource(path: string, log: Logger, minReloadMs = 5000): KeySource {
  let keys: KeySet | undefined;
  let mtimeMs = -1;
  let lastCheck = Number.NEGATIVE_INFINITY;
  let lastMiss = 0;
  async function load(): Promise<void> {
    const info = await stat(path);
    if (info.mtimeMs === mtimeMs && keys !== undefined) return;
    keys = createLocalJWKSet(
      JSON.parse(await readFile(path, 'utf8')) as Parameters<typeof createLocalJWKSet>[0],
    ) as KeySet;
    mtimeMs = info.mtimeMs;
    log.info({ jwks_file: path }, 'JWKS file loaded');
  }
  // A clock set back (tests, an NTP step) counts as due, never as "checked in the future".
  const due = (now: number) =>
    keys === undefined || now - lastCheck >= minReloadMs || now < lastCheck;
  return {
    async getKey(header, token, now) {
      if (due(now)) {
        lastCheck = now;
        await load();
      }
      const keySet = keys!;
      try {
        return { key: await keySet(header, token), keySet };
      } catch (error) {
        const realNow = Date.now();
        if (
          (error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY' ||
          realNow - lastMiss < minReloadMs
        )
          throw error;
        lastMiss = realNow;
        await load();
        const reloaded = keys!;
        return { key: await reloaded(header, token), keySet: reloaded };
      }
    },
    // `load` makes a new key set only when the file changed.
    current: (now) => (due(now) ? undefined : keys),
  };
}

/** The furthest a Date reaches from 1970, in seconds (ECMAScript: 8.64e15 ms either way). */
const LAST_DATE_S = 8.64e12;

/**
 * A NumericDate claim that is absent or a time a clock can reach (jose checks it is a number).
 * Past the Date range, `exp * 1000` is Infinity or an Invalid Date: a token that never expires
 * and a cached verdict believed forever.
 */
function reachableOrAbsent(value: unknown): boolean {
  return value === undefined || (typeof value === 'number' && Math.abs(value) <= LAST_DATE_S);
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
  /**
   * False for Security Event Tokens (RFC 8417 §2.2), which carry no `exp`: then `iat` and
   * `maxTokenAgeMs` (required with it) bound the token. Default true.
   */
  readonly requireExp?: boolean;
  readonly log: Logger;
  /** Verified tokens remembered (LRU); each entry is dropped at its `exp` or age limit. */
  readonly cacheSize?: number;
  /**
   * Remote JWKS: how long a fetched key set is used before it is fetched again (default
   * 10 minutes), and the least time between two fetches prompted by an unknown kid (5 s).
   * Together they bound how long a key removed from the issuer's JWKS keeps verifying.
   */
  readonly jwksMaxAgeMs?: number;
  readonly jwksCooldownMs?: number;
}

/** A verified token, remembered: what verified it and until when that may be believed. */
interface CacheEntry {
  readonly verdict: JwtVerdict & { readonly ok: true };
  readonly header: JWSHeaderParameters;
  /** The key that checked the signature: the verdict stands only while the issuer has it. */
  readonly key: CryptoKey;
  /** The issuer's key set that held `key` (when its source can tell, see KeySource.current). */
  readonly keySet: object | undefined;
  /** Epoch ms: the earlier of `exp` and the end of the token's allowed age (`iat` + max age). */
  readonly validUntil: number;
}

/**
 * Verifies JWTs from configured issuers (SPEC §6, §2): the algorithm must be one of ES256,
 * EdDSA, RS256, PS256 (so `none` and HS256-with-a-public-key are refused before any key is
 * touched), the issuer must be configured, and jose checks signature, `aud`, `exp`, `nbf`,
 * `iat` (required, not in the future, not older than `maxTokenAgeMs`) with bounded skew.
 *
 * Verified tokens are cached, so a client sending the same token on every request costs one
 * signature check. A cached verdict never outlives what made it true (SPEC §6): it is believed
 * only before the token's `exp` and before its `iat` is older than `maxTokenAgeMs`; past either,
 * the token is verified anew (and refused). And every hit asks the issuer's key set again for
 * the key that verified it: once that key is gone from the JWKS (as the key set sees it: a JWKS
 * file is re-checked every 5 s, a remote JWKS refetched after `jwksMaxAgeMs`, or sooner when a
 * new kid shows up, at most every `jwksCooldownMs`), the token is refused. A JWKS file's key
 * set is known unchanged between its checks, so a hit then costs a map lookup, no promise.
 */
export function createJwtVerifier(
  issuers: readonly JwtIssuerSettings[],
  options: JwtVerifierOptions,
) {
  const keySources = new Map<string, KeySource>();
  for (const issuer of issuers) {
    // Remote key sets are cached for 10 minutes; an unknown kid (a rotation) refetches, at most
    // every 5 s, so a flood of made-up kids cannot turn into a flood of JWKS requests.
    if (issuer.jwksUri !== undefined) {
      const remote = createRemoteJWKSet(issuer.jwksUri, {
        cacheMaxAge: options.jwksMaxAgeMs ?? 10 * 60_000,
        cooldownDuration: options.jwksCooldownMs ?? 5_000,
        timeoutDuration: 5_000,
      }) as KeySet;
      // jose does not say when it refetched: every cache hit asks it for the key again.
      keySources.set(issuer.issuer, {
        getKey: async (header, token) => ({ key: await remote(header, token), keySet: undefined }),
        current: () => undefined,
      });
    } else {
      keySources.set(issuer.issuer, createFileKeySource(issuer.jwksFile!, options.log));
    }
  }
  const byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
  const cache = new Map<string, CacheEntry>();
  const cacheSize = options.cacheSize ?? 5_000;

  /** Until when a verified token may be believed without checking it again. */
  function believableUntil(payload: JWTPayload): number | undefined {
    if (typeof payload.exp !== 'number') {
      if (options.requireExp !== false || options.maxTokenAgeMs === undefined) return undefined;
      return typeof payload.iat === 'number'
        ? payload.iat * 1000 + options.maxTokenAgeMs + options.clockSkewMs
        : undefined;
    }
    const expires = payload.exp * 1000;
    if (options.maxTokenAgeMs === undefined) return expires;
    // jose refuses a token whose iat is older than max age + skew; required, so a number here.
    if (typeof payload.iat !== 'number') return undefined;
    return Math.min(expires, payload.iat * 1000 + options.maxTokenAgeMs + options.clockSkewMs);
  }

  function remember(token: string, entry: Omit<CacheEntry, 'validUntil'>): void {
    const validUntil = believableUntil(entry.verdict.payload);
    if (validUntil === undefined) return;
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(token, { ...entry, validUntil });
  }

  async function verifyUncached(
    token: string,
    now: number,
  ): Promise<{ verdict: JwtVerdict; header?: JWSHeaderParameters; found?: FoundKey }> {
    let header: JWSHeaderParameters;
    let iss: string | undefined;
    try {
      header = decodeProtectedHeader(token) as JWSHeaderParameters;
      iss = decodeJwt(token).iss;
    } catch {
      return { verdict: { ok: false, reason: 'malformed' } };
    }
    // We understand no JWS extensions; RFC 7515 §4.1.11 says refuse what is marked critical.
    if (header.crit !== undefined) return { verdict: { ok: false, reason: 'malformed' } };
    const alg = header.alg;
    if (alg === undefined || !ALLOWED.has(alg))
      return { verdict: { ok: false, reason: 'bad_algorithm' } };
    const issuer = iss === undefined ? undefined : byIssuer.get(iss);
    if (issuer === undefined) return { verdict: { ok: false, reason: 'unknown_issuer' } };
    if (!issuer.algorithms.includes(alg))
      return { verdict: { ok: false, reason: 'bad_algorithm' } };
    const keys = keySources.get(issuer.issuer)!;
    let found: FoundKey | undefined;
    try {
      const { payload } = await jwtVerify(
        token,
        async (h: JWSHeaderParameters, t: FlattenedJWSInput) =>
          (found = await keys.getKey(h, t, now)).key,
        {
          issuer: issuer.issuer,
          audience: [...issuer.audiences],
          algorithms: [...issuer.algorithms],
          clockTolerance: Math.round(options.clockSkewMs / 1000),
          ...(options.maxTokenAgeMs !== undefined && {
            maxTokenAge: Math.round(options.maxTokenAgeMs / 1000),
          }),
          requiredClaims: [
            ...(options.requireExp === false ? [] : ['exp']),
            ...(options.maxTokenAgeMs === undefined ? [] : ['iat']),
          ],
          currentDate: new Date(now),
        },
      );
      // jose takes any number for a date, 1e400 (JSON's Infinity) and 1e300 too: a token that
      // never expires, or one issued so long ago that its age is no number a histogram holds.
      if (!(['exp', 'iat', 'nbf'] as const).every((claim) => reachableOrAbsent(payload[claim])))
        return { verdict: { ok: false, reason: 'bad_claims' } };
      return { verdict: { ok: true, payload, issuer }, header, found };
    } catch (error) {
      return { verdict: { ok: false, reason: rejectionOf(error) } };
    }
  }

  /**
   * A cache hit stands only while the issuer still publishes the key that verified it: the
   * same key object from the same key set (a refetched JWKS yields new objects: the token is
   * then simply verified once more). A key set that cannot be read refuses, as for a new token.
   */
  async function stillVouchedFor(
    token: string,
    entry: CacheEntry,
    now: number,
  ): Promise<'same' | 'changed' | JwtRejection> {
    const [protectedHeader, payload, signature] = token.split('.') as [string, string, string];
    try {
      const keys = keySources.get(entry.verdict.issuer.issuer)!;
      const { key } = await keys.getKey(
        entry.header,
        { protected: protectedHeader, payload, signature },
        now,
      );
      return key === entry.key ? 'same' : 'changed';
    } catch (error) {
      return rejectionOf(error);
    }
  }

  return {
    async verify(token: string, now: number): Promise<JwtVerdict> {
      if (token.length > MAX_TOKEN_BYTES) return { ok: false, reason: 'too_large' };
      const cached = cache.get(token);
      if (cached !== undefined) {
        // Past exp or the age ceiling the entry is dropped and the token verified (and refused)
        // anew; with its key gone from the issuer's JWKS it is refused at once. While the key
        // set is known unchanged (a JWKS file between its checks) there is nothing to ask.
        const current = keySources.get(cached.verdict.issuer.issuer)!.current(now);
        const vouched =
          now >= cached.validUntil
            ? 'changed'
            : current !== undefined && current === cached.keySet
              ? 'same'
              : await stillVouchedFor(token, cached, now);
        if (vouched === 'same') return cached.verdict;
        cache.delete(token);
        if (vouched !== 'changed') return { ok: false, reason: vouched };
      }
      const { verdict, header, found } = await verifyUncached(token, now);
      if (verdict.ok && header !== undefined && found !== undefined)
        remember(token, { verdict, header, key: found.key, keySet: found.keySet });
      return verdict;
    },
  };
}

export type JwtVerifier = ReturnType<typeof createJwtVerifier>;
