import type { createClient } from 'redis';
import type { AccessRequest, Grant, Grantee } from './grants.js';
import { granteeKeys } from './grants.js';
import { PENDING_REQUEST_TTL_MS, heldBy, isFor, requestDedupKey } from './grant-store.js';
import type { GrantMatch, GrantStore } from './grant-store.js';

type Client = ReturnType<typeof createClient>;

const PREFIX = 'ztna:jit:';
const REQUEST = `${PREFIX}req:`;
const REQUEST_BY = `${PREFIX}reqby:`;
const PENDING = `${PREFIX}pending`;
const GRANT = `${PREFIX}grant:`;
const USER = `${PREFIX}user:`;
const USED = `${PREFIX}used:`;
/** Sorted set of grant ids by expiry: the expiry sweep and the active count read it. */
const EXPIRY = `${PREFIX}expiry`;
/** A grant record outlives its expiry this long, so the sweep can still say what expired. */
const RETAIN_MS = 3_600_000;
/** A person's index lives as long as their longest possible grant, plus the retention. */
const USER_INDEX_TTL_MS = 25 * 3_600_000;

function parse<T>(value: unknown): T | undefined {
  return typeof value === 'string' ? (JSON.parse(value) as T) : undefined;
}

/**
 * Grants in Redis, shared by every instance (SPEC §12, §13). Deciding a request, revoking and
 * expiring each remove one member of a set or sorted set first: Redis says which caller removed
 * it, and only that caller acts on it.
 */
export class RedisGrantStore implements GrantStore {
  constructor(private readonly redis: Client) {}

  async request(request: AccessRequest): Promise<{ request: AccessRequest; created: boolean }> {
    const dedup = REQUEST_BY + requestDedupKey(request);
    const claimed = await this.redis.set(dedup, request.id, {
      NX: true,
      PX: PENDING_REQUEST_TTL_MS,
    });
    if (claimed !== 'OK') {
      const existing = parse<AccessRequest>(
        await this.redis.get(REQUEST + ((await this.redis.get(dedup)) ?? '')),
      );
      if (existing !== undefined) return { request: existing, created: false };
      // The earlier request was decided meanwhile: this one is new.
      await this.redis.set(dedup, request.id, { PX: PENDING_REQUEST_TTL_MS });
    }
    await this.redis
      .multi()
      .set(REQUEST + request.id, JSON.stringify(request), { PX: PENDING_REQUEST_TTL_MS })
      .zAdd(PENDING, { score: request.requestedAt, value: request.id })
      .exec();
    return { request, created: true };
  }

  async pending(): Promise<AccessRequest[]> {
    const ids = await this.redis.zRange(PENDING, 0, -1);
    if (ids.length === 0) return [];
    const values = await this.redis.mGet(ids.map((id) => REQUEST + id));
    const stale = ids.filter((_, i) => values[i] === null);
    if (stale.length > 0) await this.redis.zRem(PENDING, stale);
    return values.flatMap((v) => parse<AccessRequest>(v) ?? []);
  }

  async takeRequest(id: string): Promise<AccessRequest | undefined> {
    if ((await this.redis.zRem(PENDING, id)) !== 1) return undefined;
    const request = parse<AccessRequest>(await this.redis.getDel(REQUEST + id));
    if (request !== undefined) await this.redis.del(REQUEST_BY + requestDedupKey(request));
    return request;
  }

  async issue(grant: Grant): Promise<void> {
    const multi = this.redis
      .multi()
      .set(GRANT + grant.id, JSON.stringify(grant), { PXAT: grant.expiresAt + RETAIN_MS })
      .zAdd(EXPIRY, { score: grant.expiresAt, value: grant.id });
    for (const key of granteeKeys(grant.user, grant.requesterEmail))
      multi.sAdd(USER + key, grant.id).pExpire(USER + key, USER_INDEX_TTL_MS);
    await multi.exec();
  }

  async pendingOf(user: Grantee, grant: string): Promise<AccessRequest | undefined> {
    // The de-dup key names the person's waiting request: two reads, not a scan of every request.
    const id = await this.redis.get(REQUEST_BY + requestDedupKey({ grant, user }));
    if (id === null) return undefined;
    const request = parse<AccessRequest>(await this.redis.get(REQUEST + id));
    return request !== undefined && heldBy(request, user) ? request : undefined;
  }

  async grantsOf(user: Grantee, now: number): Promise<Grant[]> {
    return (await this.indexedUnder(user)).filter((g) => g.expiresAt > now && heldBy(g, user));
  }

  /** The grants indexed under a user's sub or email, running or not. */
  private async indexedUnder(user: Grantee): Promise<Grant[]> {
    const keys = granteeKeys(user).map((key) => USER + key);
    if (keys.length === 0) return [];
    return this.read(await this.redis.sUnion(keys));
  }

  async list(now: number): Promise<Grant[]> {
    const ids = await this.redis.zRangeByScore(EXPIRY, `(${now}`, '+inf');
    return (await this.read(ids)).sort((a, b) => a.expiresAt - b.expiresAt);
  }

  async revoke(match: GrantMatch): Promise<Grant[]> {
    if ('id' in match) return this.take([match.id]);
    const theirs = (await this.indexedUnder(match.user)).filter((g) => isFor(g, match.user));
    return this.take(
      theirs.filter((g) => match.grant === undefined || g.grant === match.grant).map((g) => g.id),
    );
  }

  async takeExpired(now: number): Promise<Grant[]> {
    return this.take(await this.redis.zRangeByScore(EXPIRY, '-inf', now));
  }

  async markUsed(id: string): Promise<boolean> {
    const grant = parse<Grant>(await this.redis.get(GRANT + id));
    if (grant === undefined) return false;
    const first = await this.redis.set(USED + id, '1', {
      NX: true,
      PXAT: grant.expiresAt + RETAIN_MS,
    });
    return first === 'OK';
  }

  async countActive(now: number): Promise<number> {
    return this.redis.zCount(EXPIRY, `(${now}`, '+inf');
  }

  private async read(ids: readonly string[]): Promise<Grant[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mGet(ids.map((id) => GRANT + id));
    return values.flatMap((v) => parse<Grant>(v) ?? []);
  }

  /** Removes grants; returns those this caller removed from the expiry set (the winners). */
  private async take(ids: readonly string[]): Promise<Grant[]> {
    const taken: Grant[] = [];
    for (const id of ids) {
      if ((await this.redis.zRem(EXPIRY, id)) !== 1) continue;
      const grant = parse<Grant>(await this.redis.getDel(GRANT + id));
      if (grant === undefined) continue;
      const multi = this.redis.multi().del(USED + id);
      for (const key of granteeKeys(grant.user, grant.requesterEmail)) multi.sRem(USER + key, id);
      await multi.exec();
      taken.push(grant);
    }
    return taken;
  }
}
