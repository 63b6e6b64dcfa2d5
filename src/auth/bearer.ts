import type { IncomingHttpHeaders } from 'node:http';
import type { JwtRejection, JwtVerifier } from './jwt-verifier.js';
import type { Metrics } from '../metrics/registry.js';
import type { Identity } from '../policy/types.js';

/**
 * The token of `Authorization: Bearer <token>` (RFC 6750 §2.1), or undefined when there is no
 * bearer credential. Any single word counts: a malformed token is the verifier's to refuse,
 * with `invalid_token`, rather than being mistaken for no token at all.
 */
export function bearerTokenOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.authorization;
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(value);
  return match?.[1];
}

/**
 * Claims about the token, not the workload: not kept as identity claims. `iss` is kept: it says
 * whose workload this is, and `claims: { iss: ... }` may check it (SPEC §4.2).
 */
const PROTOCOL_CLAIMS = new Set(['aud', 'exp', 'iat', 'nbf', 'jti']);

export type BearerResult =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly reason: JwtRejection | 'no_subject' };

/**
 * Service-to-service authentication (SPEC §2 step 3): a bearer JWT from a configured issuer
 * (Kubernetes projected service-account tokens, SPIFFE JWT-SVIDs), verified like any JWT we
 * accept: asymmetric algorithm, issuer, audience, expiry required. The identity is the `sub`
 * of the service_tokens entry that verified it (`issuers` conditions); `subjects` and `claims`
 * conditions apply to it (nested claims: `kubernetes.io.namespace`).
 *
 * A workload never fills the human fields (SPEC §4.2): a token's `email` or `groups` claims
 * are only claims, so no `groups`/`emails`/`email_domains` rule matches a workload, and no
 * X-Forwarded-Email/-Groups or assertion email/groups is ever made from them. Otherwise any
 * cluster that can mint a token could call itself `cto@corp.example` in group `admins`.
 */
export function createBearerAuthenticator(verifier: JwtVerifier, metrics: Metrics) {
  return async function authenticateBearer(token: string, now: number): Promise<BearerResult> {
    const verdict = await verifier.verify(token, now);
    if (!verdict.ok) return verdict;
    const payload = verdict.payload;
    if (typeof payload.sub !== 'string' || payload.sub === '')
      return { ok: false, reason: 'no_subject' };
    if (typeof payload.iat === 'number')
      metrics.credentialAge.observe({ kind: 'bearer' }, Math.max(0, now / 1000 - payload.iat));
    const claims = Object.fromEntries(
      Object.entries(payload).filter(([name]) => !PROTOCOL_CLAIMS.has(name)),
    );
    return {
      ok: true,
      identity: {
        sub: payload.sub,
        claims,
        workload: { issuer: verdict.issuer.issuer, name: verdict.issuer.name },
      },
    };
  };
}

export type BearerAuthenticator = ReturnType<typeof createBearerAuthenticator>;
