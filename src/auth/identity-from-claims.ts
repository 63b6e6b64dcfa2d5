import { readClaim } from '../lib/claim-path.js';
import type { Identity } from '../policy/types.js';

/** Protocol claims that say nothing about the user and are not kept in the session. */
const PROTOCOL_CLAIMS = new Set([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'azp',
  'jti',
  'sid',
]);

/** `email_verified` as a boolean; some IdPs send the strings "true"/"false". */
function readVerified(value: unknown): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

/** A list of strings, or undefined for anything else: a malformed groups claim matches nothing. */
function readGroups(value: unknown): readonly string[] | undefined {
  if (!Array.isArray(value) || !value.every((g) => typeof g === 'string')) return undefined;
  return value as string[];
}

/**
 * Builds the identity kept in the session from verified ID token claims, completed by the
 * UserInfo response (already checked to have the same `sub`). The signed ID token wins where
 * both speak.
 */
export function identityFromClaims(
  idToken: Readonly<Record<string, unknown>>,
  userinfo: Readonly<Record<string, unknown>> | undefined,
  groupsClaim: string,
): Identity {
  const merged: Record<string, unknown> = {};
  for (const source of [userinfo ?? {}, idToken]) {
    for (const [key, value] of Object.entries(source))
      if (!PROTOCOL_CLAIMS.has(key)) merged[key] = value;
  }
  const email =
    typeof merged.email === 'string' && merged.email !== ''
      ? merged.email.toLowerCase()
      : undefined;
  return {
    sub: String(idToken.sub),
    email,
    emailVerified: readVerified(merged.email_verified),
    groups: readGroups(readClaim(merged, groupsClaim)),
    name: typeof merged.name === 'string' ? merged.name : undefined,
    claims: merged,
  };
}

/**
 * Claims about the sign-in itself, not the user: a refreshed ID token may leave them out (OIDC
 * Core §12.2 keeps `auth_time` as it was), and a refresh is no new sign-in, so they carry over.
 */
const SIGN_IN_CLAIMS = ['auth_time', 'amr', 'acr'] as const;

/**
 * The identity after a token refresh: built only from what the IdP says now (the new ID token
 * and UserInfo), so a group or email the IdP withdrew is gone. Only `auth_time`, `amr` and
 * `acr` carry over from the previous identity, and only when the refresh brought none: keeping
 * anything else would keep what the IdP took away.
 */
export function refreshedIdentity(
  previous: Identity,
  idToken: Readonly<Record<string, unknown>> | undefined,
  userinfo: Readonly<Record<string, unknown>> | undefined,
  groupsClaim: string,
): Identity {
  const claims: Record<string, unknown> = { ...idToken, sub: previous.sub };
  for (const name of SIGN_IN_CLAIMS) {
    const fresh = claims[name] ?? userinfo?.[name];
    if (fresh === undefined && previous.claims[name] !== undefined)
      claims[name] = previous.claims[name];
  }
  return identityFromClaims(claims, userinfo, groupsClaim);
}

/** SPEC §8: `X-Forwarded-Groups` is comma-separated, so a group name with a comma is refused. */
export function hasAmbiguousGroupName(identity: Identity): boolean {
  return identity.groups?.some((group) => group.includes(',')) ?? false;
}
