import type { ActiveGrants, Identity } from '../policy/types.js';

/**
 * Whom a grant or request is for. People are found by their IdP `sub` and by their (verified)
 * email: an admin granting `bob@corp.example` does not know bob's sub, and bob's own request
 * records both.
 */
export interface Grantee {
  readonly sub?: string | undefined;
  /** Lower-cased. */
  readonly email?: string | undefined;
}

/** A request for access, waiting for an approver (SPEC §13). */
export interface AccessRequest {
  readonly id: string;
  readonly grant: string;
  /** The route whose deny page it came from. */
  readonly route: string;
  readonly user: Grantee;
  /** What the approvers see: the display name or email. */
  readonly userName: string;
  /**
   * The requester's email as the IdP gave it, lower-cased, verified or NOT. Only for refusing
   * self-approval (a second account of the approver's whose email the IdP has not verified
   * shares nothing else with them); never for finding grants, which trust verified emails only.
   */
  readonly requesterEmail?: string | undefined;
  readonly durationMs: number;
  /** '' when the offer does not require one and none was given. */
  readonly reason: string;
  /** Epoch ms. */
  readonly requestedAt: number;
}

/** Access given: the `grant: NAME` condition holds for `user` until `expiresAt` (epoch ms). */
export interface Grant {
  readonly id: string;
  readonly grant: string;
  readonly user: Grantee;
  readonly grantedAt: number;
  readonly expiresAt: number;
  /** The approver's email (or sub), or `admin` for the admin API. */
  readonly grantedBy: string;
  /** The requester's reason, or the admin's. */
  readonly reason: string;
  /** The request it approved; absent for grants issued through the admin API. */
  readonly requestId?: string | undefined;
  /**
   * The requester's email as the IdP gave it, verified or not (from the request). Never for
   * holding the grant (`heldBy`): only so that an admin who names the person by email finds,
   * and can revoke, a grant held by a sub whose email the IdP did not vouch for.
   */
  readonly requesterEmail?: string | undefined;
}

/**
 * The index keys a grantee is found under (`sub:…`, `email:…`), as the session store uses; for
 * a record with a requester's email, that one too (so an admin finds it by email).
 */
export function granteeKeys(user: Grantee, requesterEmail?: string): string[] {
  const emails = new Set(
    [user.email, requesterEmail].flatMap((e) => (e === undefined ? [] : [e.toLowerCase()])),
  );
  return [
    ...(user.sub === undefined ? [] : [`sub:${user.sub}`]),
    ...[...emails].map((email) => `email:${email}`),
  ];
}

/**
 * The grantee of a signed-in person: their sub, and their email when the IdP has not said it is
 * unverified. Workloads never hold grants: a grant is a person's elevation.
 */
export function granteeOf(identity: Identity): Grantee | undefined {
  if (identity.workload !== undefined) return undefined;
  return {
    sub: identity.sub,
    email:
      identity.email === undefined || identity.emailVerified === false
        ? undefined
        : identity.email.toLowerCase(),
  };
}

/** An admin's `user` (`bob@corp.example` or a sub): an email when it has an @. */
export function granteeNamed(user: string): Grantee {
  return user.includes('@') ? { email: user.toLowerCase() } : { sub: user };
}

/** Who a grantee is, in words for pages and audit lines. */
export function granteeName(user: Grantee): string {
  return user.email ?? user.sub ?? '(unknown)';
}

/** The latest expiry per grant name among grants still running at `now`. */
export function activeGrantsOf(grants: readonly Grant[], now: number): ActiveGrants {
  const active = new Map<string, number>();
  for (const grant of grants) {
    if (grant.expiresAt <= now) continue;
    if ((active.get(grant.grant) ?? 0) < grant.expiresAt) active.set(grant.grant, grant.expiresAt);
  }
  return active;
}
