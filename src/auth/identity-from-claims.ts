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
