import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { createClient } from 'redis';
import { PENDING_REQUEST_TTL_MS } from '../../src/jit/grant-store.js';
import type { GrantStore } from '../../src/jit/grant-store.js';
import type { AccessRequest, Grant } from '../../src/jit/grants.js';
import { MemoryGrantStore } from '../../src/jit/memory-grants.js';
import { RedisGrantStore } from '../../src/jit/redis-grants.js';
import { startRedis } from '../harness/redis.js';
import type { TestRedis } from '../harness/redis.js';

// The GrantStore contract (SPEC §13), run against the embedded memory store and against Redis
// on a real redis-server. "Two instances" are two stores over the same data: for Redis, two
// clients, as two gateway processes would hold.

const HOUR = 3_600_000;
// Redis expires records on its own clock: the test's time starts at the real now.
const T0 = Date.now();

const BOB = { sub: 'bob', email: 'bob@corp.example' };
const ALICE = { sub: 'alice', email: 'alice@corp.example' };

let seq = 0;
function accessRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: `req-${++seq}`,
    grant: 'wiki-admin',
    route: 'wiki',
    user: BOB,
    userName: 'Bob',
    durationMs: 2 * HOUR,
    reason: 'fix the sidebar',
    requestedAt: T0 + seq,
    ...overrides,
  };
}

function grant(overrides: Partial<Grant> = {}): Grant {
  return {
    id: `grant-${++seq}`,
    grant: 'wiki-admin',
    user: BOB,
    grantedAt: T0,
    expiresAt: T0 + HOUR,
    grantedBy: 'alice@corp.example',
    reason: 'fix the sidebar',
    ...overrides,
  };
}

interface Backend {
  /** Two stores over the same data, as two instances hold them. */
  readonly a: GrantStore;
  readonly b: GrantStore;
  reset(): Promise<void>;
}

let redis: TestRedis;
const clients: ReturnType<typeof createClient>[] = [];
beforeAll(async () => {
  redis = await startRedis();
  for (let i = 0; i < 2; i++) {
    const client = createClient({ url: redis.url });
    await client.connect();
    clients.push(client);
  }
}, 30_000);
afterAll(async () => {
  for (const client of clients) await client.quit();
  await redis.stop();
});

const backends: [string, () => Backend][] = [
  [
    'memory',
    () => {
      let store = new MemoryGrantStore(() => T0);
      return {
        get a() {
          return store;
        },
        get b() {
          return store;
        },
        async reset() {
          store = new MemoryGrantStore(() => T0);
        },
      };
    },
  ],
  [
    'redis',
    () => ({
      get a() {
        return new RedisGrantStore(clients[0]!);
      },
      get b() {
        return new RedisGrantStore(clients[1]!);
      },
      async reset() {
        await clients[0]!.flushAll();
      },
    }),
  ],
];

describe.each(backends)('GrantStore contract: %s', (_name, makeBackend) => {
  const backend = makeBackend();
  beforeEach(() => backend.reset());

  test('asking twice for the same grant returns the first request, concurrent asks too', async () => {
    const first = await backend.a.request(accessRequest());
    expect(first.created).toBe(true);
    const again = await backend.b.request(accessRequest({ reason: 'please' }));
    expect(again).toEqual({ request: first.request, created: false });
    // Another grant, or another person, is another request.
    const other = await backend.a.request(accessRequest({ grant: 'db-admin' }));
    const alice = await backend.a.request(accessRequest({ user: ALICE, userName: 'Alice' }));
    expect([other.created, alice.created]).toEqual([true, true]);
    expect((await backend.a.pending()).map((r) => r.id)).toEqual([
      first.request.id,
      other.request.id,
      alice.request.id,
    ]);

    // A double click on two instances at once still files one request.
    const racing = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? backend.a : backend.b).request(accessRequest({ grant: 'ci-admin' })),
      ),
    );
    expect(racing.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(racing.map((r) => r.request.id)).size).toBe(1);
    expect((await backend.b.pending()).filter((r) => r.grant === 'ci-admin')).toHaveLength(1);
  });

  test('takeRequest has one winner under concurrency; then the person may ask again', async () => {
    const { request } = await backend.a.request(accessRequest());
    const takes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? backend.a : backend.b).takeRequest(request.id),
      ),
    );
    expect(takes.filter((t) => t !== undefined)).toEqual([request]);
    expect(await backend.a.pending()).toEqual([]);
    expect(await backend.b.takeRequest(request.id)).toBeUndefined();
    expect(await backend.a.takeRequest('no-such-request')).toBeUndefined();

    const next = await backend.b.request(accessRequest());
    expect(next.created).toBe(true);
    expect(next.request.id).not.toBe(request.id);
    expect((await backend.a.request(accessRequest())).request.id).toBe(next.request.id);
  });

  test('one account asks once per grant, even after its email changed or lost its verification', async () => {
    const first = await backend.a.request(accessRequest());
    const again = await backend.b.request({
      ...accessRequest(),
      user: { sub: first.request.user.sub },
    });
    expect(again).toMatchObject({ created: false, request: { id: first.request.id } });
    expect(
      await backend.b.pendingOf({ sub: first.request.user.sub }, first.request.grant),
    ).toMatchObject({ id: first.request.id });
  });

  test('grantsOf finds a person by sub and by email, running grants only', async () => {
    const full = grant();
    const byEmail = grant({ user: { email: 'bob@corp.example' }, grant: 'db-admin' });
    const bySub = grant({ user: { sub: 'bob' }, grant: 'ci-admin', expiresAt: T0 + 2 * HOUR });
    const alices = grant({ user: ALICE });
    for (const g of [full, byEmail, bySub, alices]) await backend.a.issue(g);

    const ids = async (user: { sub?: string; email?: string }, now = T0) =>
      (await backend.b.grantsOf(user, now)).map((g) => g.id).sort();
    // bob signed in: both his sub and his email.
    expect(await ids(BOB)).toEqual([full.id, byEmail.id, bySub.id].sort());
    expect(await ids({ sub: 'bob' })).toEqual([full.id, bySub.id].sort());
    // A grant that names a sub is held by that account only, not by another account with the
    // same email (attack review of issue 14, finding 3); one issued to an email alone is.
    expect(await ids({ email: 'Bob@Corp.Example' })).toEqual([byEmail.id]);
    expect(await ids({ sub: 'bob-alt', email: 'bob@corp.example' })).toEqual([byEmail.id]);
    // Another person with bob's sub as an email, or no identity at all, finds nothing of bob's.
    expect(await ids({ email: 'bob' })).toEqual([]);
    expect(await ids({})).toEqual([]);
    expect(await ids({ sub: 'mallory', email: 'mallory@corp.example' })).toEqual([]);
    // At the expiry a grant no longer runs.
    expect(await ids(BOB, T0 + HOUR)).toEqual([bySub.id]);
    expect(await backend.a.grantsOf(BOB, T0)).toContainEqual(full);
  });

  test('revoke by id, by user and grant name, and by user; each grant is removed once', async () => {
    const wiki = grant();
    const wiki2 = grant({ user: { email: 'bob@corp.example' } });
    const db = grant({ grant: 'db-admin' });
    const alices = grant({ user: ALICE });
    const other = grant({ grant: 'ci-admin' });
    for (const g of [wiki, wiki2, db, alices, other]) await backend.a.issue(g);

    expect(await backend.b.revoke({ id: db.id })).toEqual([db]);
    expect(await backend.a.revoke({ id: db.id })).toEqual([]);
    const byName = await backend.a.revoke({
      user: { sub: 'bob', email: 'bob@corp.example' },
      grant: 'wiki-admin',
    });
    expect(byName.map((g) => g.id).sort()).toEqual([wiki.id, wiki2.id].sort());
    expect((await backend.b.grantsOf(BOB, T0)).map((g) => g.id)).toEqual([other.id]);
    expect(await backend.b.revoke({ user: { sub: 'bob' } })).toEqual([other]);
    expect(await backend.a.grantsOf(BOB, T0)).toEqual([]);
    expect(await backend.a.list(T0)).toEqual([alices]);
  });

  test('takeExpired hands each grant to exactly one of two concurrent callers', async () => {
    const expired = Array.from({ length: 20 }, (_, i) =>
      grant({ expiresAt: T0 + i * 1000, user: i % 2 === 0 ? BOB : ALICE }),
    );
    const running = grant({ expiresAt: T0 + HOUR });
    for (const g of [...expired, running]) await backend.a.issue(g);

    const now = T0 + 20 * 1000;
    const [fromA, fromB] = await Promise.all([
      backend.a.takeExpired(now),
      backend.b.takeExpired(now),
    ]);
    const taken = [...fromA, ...fromB].map((g) => g.id).sort();
    expect(taken).toEqual(expired.map((g) => g.id).sort());
    expect(await backend.a.takeExpired(now)).toEqual([]);
    expect(await backend.b.list(now)).toEqual([running]);
    expect((await backend.a.grantsOf(ALICE, 0)).map((g) => g.id)).toEqual([]);
  });

  test('markUsed is true once per grant, across instances, and never for an unknown grant', async () => {
    const g = grant();
    await backend.a.issue(g);
    const marks = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? backend.a : backend.b).markUsed(g.id)),
    );
    expect(marks.filter(Boolean)).toHaveLength(1);
    expect(await backend.a.markUsed(g.id)).toBe(false);
    expect(await backend.a.markUsed('no-such-grant')).toBe(false);
    await backend.b.revoke({ id: g.id });
    expect(await backend.a.markUsed(g.id)).toBe(false);
  });

  test('countActive counts grants still running', async () => {
    expect(await backend.a.countActive(T0)).toBe(0);
    await backend.a.issue(grant({ expiresAt: T0 + HOUR }));
    await backend.a.issue(grant({ expiresAt: T0 + 2 * HOUR, user: ALICE }));
    const revoked = grant({ expiresAt: T0 + 3 * HOUR });
    await backend.b.issue(revoked);
    await backend.b.revoke({ id: revoked.id });
    expect(await backend.b.countActive(T0)).toBe(2);
    expect(await backend.b.countActive(T0 + HOUR)).toBe(1);
    expect(await backend.a.countActive(T0 + 2 * HOUR)).toBe(0);
  });
});

describe('pending requests nobody decides are dropped after 24h', () => {
  test('memory: with the clock moved past 24h the request is gone and may be filed anew', async () => {
    let now = T0;
    const store = new MemoryGrantStore(() => now);
    const { request } = await store.request(accessRequest({ requestedAt: T0 }));
    now = T0 + PENDING_REQUEST_TTL_MS - 1;
    expect((await store.pending()).map((r) => r.id)).toEqual([request.id]);
    now = T0 + PENDING_REQUEST_TTL_MS;
    expect(await store.pending()).toEqual([]);
    expect(await store.takeRequest(request.id)).toBeUndefined();
    expect((await store.request(accessRequest({ requestedAt: now }))).created).toBe(true);
  });

  test('redis: the request and its de-dup key expire in Redis after 24h', async () => {
    await clients[0]!.flushAll();
    const store = new RedisGrantStore(clients[0]!);
    const { request } = await store.request(accessRequest());
    const keys = await clients[0]!.keys('ztna:jit:req*');
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      const ttl = await clients[0]!.pTTL(key);
      expect(ttl).toBeGreaterThan(PENDING_REQUEST_TTL_MS - 60_000);
      expect(ttl).toBeLessThanOrEqual(PENDING_REQUEST_TTL_MS);
    }
    // Once the record has expired, the queue forgets its id too.
    await clients[0]!.del(`ztna:jit:req:${request.id}`);
    expect(await store.pending()).toEqual([]);
    expect(await clients[0]!.zCard('ztna:jit:pending')).toBe(0);
  });
});
