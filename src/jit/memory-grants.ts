import type { AccessRequest, Grant, Grantee } from './grants.js';
import { PENDING_REQUEST_TTL_MS, heldBy, isFor, requestDedupKey } from './grant-store.js';
import type { GrantMatch, GrantStore } from './grant-store.js';

/**
 * Grants of the embedded session store: one process holds them, so every "take" is a plain
 * delete. Copies go in and out, as with a networked store, so a caller never edits the store.
 */
export class MemoryGrantStore implements GrantStore {
  private readonly requests = new Map<string, AccessRequest>();
  private readonly grants = new Map<string, Grant>();
  private readonly used = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  async request(request: AccessRequest): Promise<{ request: AccessRequest; created: boolean }> {
    this.dropStaleRequests();
    const key = requestDedupKey(request);
    for (const pending of this.requests.values())
      if (requestDedupKey(pending) === key) return { request: { ...pending }, created: false };
    this.requests.set(request.id, { ...request });
    return { request: { ...request }, created: true };
  }

  async pending(): Promise<AccessRequest[]> {
    this.dropStaleRequests();
    return [...this.requests.values()]
      .sort((a, b) => a.requestedAt - b.requestedAt)
      .map((r) => ({ ...r }));
  }

  async pendingOf(user: Grantee, grant: string): Promise<AccessRequest | undefined> {
    return (await this.pending()).find((r) => r.grant === grant && heldBy(r, user));
  }

  async takeRequest(id: string): Promise<AccessRequest | undefined> {
    this.dropStaleRequests();
    const request = this.requests.get(id);
    this.requests.delete(id);
    return request;
  }

  async issue(grant: Grant): Promise<void> {
    this.grants.set(grant.id, { ...grant });
  }

  async grantsOf(user: Grantee, now: number): Promise<Grant[]> {
    return (await this.list(now)).filter((g) => heldBy(g, user));
  }

  async list(now: number): Promise<Grant[]> {
    return [...this.grants.values()]
      .filter((g) => g.expiresAt > now)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .map((g) => ({ ...g }));
  }

  async revoke(match: GrantMatch): Promise<Grant[]> {
    const removed = [...this.grants.values()].filter((g) =>
      'id' in match
        ? g.id === match.id
        : isFor(g, match.user) && (match.grant === undefined || g.grant === match.grant),
    );
    for (const grant of removed) this.forget(grant.id);
    return removed;
  }

  async takeExpired(now: number): Promise<Grant[]> {
    const expired = [...this.grants.values()].filter((g) => g.expiresAt <= now);
    for (const grant of expired) this.forget(grant.id);
    return expired;
  }

  async markUsed(id: string): Promise<boolean> {
    if (this.used.has(id) || !this.grants.has(id)) return false;
    this.used.add(id);
    return true;
  }

  async countActive(now: number): Promise<number> {
    let count = 0;
    for (const grant of this.grants.values()) if (grant.expiresAt > now) count++;
    return count;
  }

  private forget(id: string): void {
    this.grants.delete(id);
    this.used.delete(id);
  }

  private dropStaleRequests(): void {
    const oldest = this.now() - PENDING_REQUEST_TTL_MS;
    for (const [id, request] of this.requests)
      if (request.requestedAt <= oldest) this.requests.delete(id);
  }
}
