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
  /** Removes a pending request and returns it, or undefined when it was decided already. */
  takeRequest(id: string): Promise<AccessRequest | undefined>;
  issue(grant: Grant): Promise<void>;
  /** A person's grants still running at `now` (found by sub or email). */
  grantsOf(user: Grantee, now: number): Promise<Grant[]>;
  /** Every grant still running at `now`, soonest expiry first. */
  list(now: number): Promise<Grant[]>;
  /** Removes the matching grants; returns those removed by this call. */
  revoke(match: GrantMatch): Promise<Grant[]>;
  /** Removes and returns the grants that ran out by `now`. */
  takeExpired(now: number): Promise<Grant[]>;
  /** True the first time a grant is used only: its `used` audit line is written once. */
  markUsed(id: string): Promise<boolean>;
  countActive(now: number): Promise<number>;
}

/** The request key that makes a second identical request return the first. */
export function requestDedupKey(request: AccessRequest): string {
  return `${request.grant}\n${request.user.sub ?? ''}\n${request.user.email ?? ''}`;
}

/** Whether a grant or request belongs to a person (same sub, or same email). */
export function isFor(record: { readonly user: Grantee }, user: Grantee): boolean {
  return (
    (user.sub !== undefined && record.user.sub === user.sub) ||
    (user.email !== undefined && record.user.email === user.email.toLowerCase())
  );
}
