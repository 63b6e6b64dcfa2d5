import type { Identity } from '../policy/types.js';
import type { AccessRequest } from './grants.js';

/**
 * What a route (or one of its sub-rules) offers to people its policy denies (SPEC §13):
 * time-boxed access under a named grant, decided by approvers. Compiled from routes.yaml's
 * `jit: { grant, max_duration, approvers, require_reason }`.
 */
export interface JitOffer {
  /** The grant's name: what `grant: NAME` conditions test. Declared by exactly one `jit`. */
  readonly grant: string;
  /** The longest access an approver can give (ms); never above MAX_GRANT_DURATION_MS. */
  readonly maxDurationMs: number;
  /** Who may decide requests; an approver also needs MFA and never decides their own. */
  readonly approvers: {
    readonly groups: ReadonlySet<string>;
    /** Lower-cased. */
    readonly emails: ReadonlySet<string>;
  };
  readonly requireReason: boolean;
  /** The route that declares it (for the request's record and the pages). */
  readonly route: string;
  /**
   * That route's host (`admin.corp.example`, or a `*.` pattern): requests for the grant are
   * decided there only, never on the origin of another route's app (see approval.ts).
   */
  readonly host: string;
  /** Where it is declared: `jit` or `rules[0].jit`. */
  readonly label: string;
}

/**
 * The longest grant `check` accepts. Time-boxed means hours: anything longer is standing
 * access under another name, and belongs in a group at the IdP.
 */
export const MAX_GRANT_DURATION_MS = 24 * 3_600_000;

/**
 * Whether a person is among the offer's approvers (groups or emails, as the IdP says them;
 * unverified emails never count). MFA is checked by the caller, against the session.
 */
export function isApprover(offer: JitOffer, identity: Identity | undefined): boolean {
  if (identity === undefined || identity.workload !== undefined) return false;
  if (identity.groups?.some((g) => offer.approvers.groups.has(g)) === true) return true;
  const email = identity.emailVerified === false ? undefined : identity.email;
  return email !== undefined && offer.approvers.emails.has(email.toLowerCase());
}

/** What the deny page needs to offer "Request access" (or to say a request is pending). */
export interface AccessOffer {
  readonly offer: JitOffer;
  /** The session's form token: the request form is a POST with it. */
  readonly csrf: string;
  /** The person's request already waiting for an approver, if any. */
  readonly pending: AccessRequest | undefined;
  /** The denied path, where the person returns once access is given. */
  readonly returnTo: string;
}
