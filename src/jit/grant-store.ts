import type { AccessRequest, Grant, Grantee } from './grants.js';

/** A pending request nobody decides is dropped after this long; the person may ask again. */
export const PENDING_REQUEST_TTL_MS = 24 * 3_600_000;

/** Which grants to revoke: one by id, or a person's (all, or those of one name). */
export type GrantMatch =
  { readonly id: string } | { readonly user: Grantee; readonly grant?: string | undefined };

/**
 * Requests and grants, kept in the session store (SPEC §13): in memory embedded, in Redis when
 * instances share sessions, so every instance sees the same grants and a restart loses none.
 * Every "take" hands a record to exactly one caller, on every instance: one approver wins a
 * race, and one instance writes the `expired` audit line.
 */
export interface GrantStore {
  /**
   * Files a request, unless the same person already has one pending for the same grant: then
   * that one is returned and `created` is false (asking twice makes no duplicate).
   */
  request(request: AccessRequest): Promise<{ request: AccessRequest; created: boolean }>;
  /** The requests waiting for a decision, oldest first. */
  pending(): Promise<AccessRequest[]>;
  /** This person's request for this grant, if one is waiting (the deny page asks on every denial). */
  pendingOf(user: Grantee, grant: string): Promise<AccessRequest | undefined>;
  /** Removes a pending request and returns it, or undefined when it was decided already. */
  takeRequest(id: string): Promise<AccessRequest | undefined>;
  issue(grant: Grant): Promise<void>;
  /** The grants a person holds (see `heldBy`) still running at `now`. */
  grantsOf(user: Grantee, now: number): Promise<Grant[]>;
  /** Every grant still running at `now`, soonest expiry first. */
  list(now: number): Promise<Grant[]>;
  /** Removes the matching grants (a user's: see `isFor`); returns those removed by this call. */
  revoke(match: GrantMatch): Promise<Grant[]>;
  /** Removes and returns the grants that ran out by `now`. */
  takeExpired(now: number): Promise<Grant[]>;
  /** True the first time a grant is used only: its `used` audit line is written once. */
  markUsed(id: string): Promise<boolean>;
  countActive(now: number): Promise<number>;
}

/**
 * The request key that makes a second identical request return the first: the grant and the
 * account (`heldBy`'s notion of a person: the sub, else the email), so a changed or newly
 * unverified email never files a second request for the same account.
 */
export function requestDedupKey(request: Pick<AccessRequest, 'grant' | 'user'>): string {
  const { sub, email } = request.user;
  return `${request.grant}\n${sub !== undefined ? `sub:${sub}` : `email:${email ?? ''}`}`;
}

/**
 * Whether a person holds a grant, or made a request: the account it was given to. A grant born
 * of a request names the requester's sub, and only that account holds it: the approver approved
 * one account, not every account the IdP gives the same email (a duplicate or a reassigned
 * mailbox). A grant an admin issued to an email alone is held by whoever signs in with that
 * email, verified (`granteeOf` drops unverified ones).
 */
export function heldBy(record: { readonly user: Grantee }, person: Grantee): boolean {
  if (record.user.sub !== undefined) return record.user.sub === person.sub;
  return record.user.email !== undefined && record.user.email === person.email?.toLowerCase();
}

/**
 * Whether a grant or request concerns a user an admin named, by sub or by email: what the admin
 * API lists and revokes (an admin revoking `bob@corp.example` means every grant of bob's).
 */
export function isFor(
  record: { readonly user: Grantee; readonly requesterEmail?: string | undefined },
  user: Grantee,
): boolean {
  const email = user.email?.toLowerCase();
  return (
    (user.sub !== undefined && record.user.sub === user.sub) ||
    (email !== undefined && (record.user.email === email || record.requesterEmail === email))
  );
}
