import { afterEach, describe, expect, test } from '@jest/globals';
import type { SessionData } from 'express-session';
import { MemorySessionStore } from './memory-store.js';

// The embedded store keeps the IdP tokens beside each session's JSON and indexes a user's
// sessions by one id until there are several (memory, issue 11): what an admin and the
// pipeline see must be exactly what they saw when every session was one JSON string.

const stores: MemorySessionStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.shutdown();
});

function newStore(): MemorySessionStore {
  const store = new MemorySessionStore(3_600_000);
  stores.push(store);
  return store;
}

function sessionOf(sub: string, email: string, idToken = `id-token-of-${sub}`): SessionData {
  return {
    cookie: { originalMaxAge: 3_600_000, path: '/', httpOnly: true },
    user: { sub, email, emailVerified: true, groups: ['eng'], claims: { sub, email } },
    tokens: { idToken, refreshToken: `refresh-of-${sub}`, expiresAt: 1_700_000_000_000 },
    createdAt: 1_600_000_000_000,
    csrf: 'csrf',
  } as unknown as SessionData;
}

const get = (store: MemorySessionStore, sid: string) =>
  new Promise<SessionData | null | undefined>((resolve, reject) =>
    store.get(sid, (error, data) => (error ? reject(error) : resolve(data))),
  );

const getForRequest = (store: MemorySessionStore, sid: string) =>
  new Promise<SessionData | null | undefined>((resolve, reject) =>
    store.getForRequest(sid, (error, data) => (error ? reject(error) : resolve(data))),
  );

describe('the memory session store', () => {
  test('gives back the tokens and a private copy of the rest on every read', async () => {
    const store = newStore();
    store.set('s1', sessionOf('alice', 'alice@corp.example'));
    const first = await get(store, 's1');
    const { idToken, refreshToken, expiresAt } = first!.tokens;
    expect({ idToken, refreshToken, expiresAt }).toEqual({
      idToken: 'id-token-of-alice',
      refreshToken: 'refresh-of-alice',
      expiresAt: 1_700_000_000_000,
    });
    // What express-session hashes and a networked store would write.
    expect(JSON.parse(JSON.stringify(first))).toMatchObject({ tokens: { idToken, refreshToken } });
    (first!.user as { groups?: readonly string[] }).groups = ['admins'];
    first!.tokens = { idToken: 'changed', refreshToken: undefined, expiresAt: undefined };
    const second = await get(store, 's1');
    expect(second?.user.groups).toEqual(['eng']);
    expect(second?.tokens.idToken).toBe('id-token-of-alice');
    // Shared between reads, so it must not be changeable in place.
    expect(() => {
      (second!.tokens as { idToken: string }).idToken = 'x';
    }).toThrow(TypeError);
  });

  test('a request reads the same data as express-session, frozen inside, its own on top', async () => {
    const store = newStore();
    store.set('s1', sessionOf('alice', 'alice@corp.example'));
    const first = await getForRequest(store, 's1');
    expect(JSON.stringify(first)).toBe(JSON.stringify(await get(store, 's1')));
    // Top-level fields are what the pipeline changes (refresh, device binding): per read.
    first!.deviceId = 'laptop-1';
    first!.user = { ...first!.user, groups: ['admins'] };
    const second = await getForRequest(store, 's1');
    expect(second?.deviceId).toBeUndefined();
    expect(second?.user.groups).toEqual(['eng']);
    // What they hold is shared by every read of this version: changing it in place throws.
    expect(() => {
      (second!.user as { sub: string }).sub = 'mallory';
    }).toThrow(TypeError);
    expect(() => {
      (second!.user.groups as string[]).push('admins');
    }).toThrow(TypeError);
    expect(() => {
      (second!.user.claims as Record<string, unknown>).email = 'mallory@corp.example';
    }).toThrow(TypeError);
    expect((await getForRequest(store, 's1'))?.user).toEqual({
      sub: 'alice',
      email: 'alice@corp.example',
      emailVerified: true,
      groups: ['eng'],
      claims: { sub: 'alice', email: 'alice@corp.example' },
    });
  });

  test('a request reads the version saved last, and nothing once it is ended', async () => {
    const store = newStore();
    store.set('s1', sessionOf('alice', 'alice@corp.example'));
    expect((await getForRequest(store, 's1'))?.user.groups).toEqual(['eng']);
    const changed = sessionOf('alice', 'alice@corp.example', 'id-token-2');
    changed.user = { ...changed.user, groups: ['eng', 'admins'] };
    expect(await store.update('s1', changed)).toBe(true);
    const read = await getForRequest(store, 's1');
    expect(read?.user.groups).toEqual(['eng', 'admins']);
    expect(read?.tokens.idToken).toBe('id-token-2');
    await store.revokeUser('alice');
    expect(await getForRequest(store, 's1')).toBeNull();
    store.set('s2', sessionOf('bob', 'bob@corp.example'));
    await getForRequest(store, 's2');
    store.destroy('s2');
    expect(await getForRequest(store, 's2')).toBeNull();
  });

  test('a request does not read a session idle past its timeout', async () => {
    let clock = 1_000_000;
    const store = new MemorySessionStore(60_000, () => clock);
    stores.push(store);
    store.set('s1', sessionOf('alice', 'alice@corp.example'));
    expect(await getForRequest(store, 's1')).not.toBeNull();
    clock += 60_000;
    expect(await getForRequest(store, 's1')).toBeNull();
  });

  test('a session read and saved again keeps its tokens exactly', async () => {
    const store = newStore();
    const jwt = `eyJhbGciOiJFUzI1NiJ9.${Buffer.from('{"sub":"alice"}').toString('base64url')}.c2ln`;
    store.set('s1', sessionOf('alice', 'alice@corp.example', jwt));
    const read = await get(store, 's1');
    store.set('s1', { ...read!, csrf: 'changed' });
    const again = await get(store, 's1');
    expect(again?.csrf).toBe('changed');
    expect(again?.tokens.idToken).toBe(jwt);
    expect(again?.tokens.refreshToken).toBe('refresh-of-alice');
  });

  test('a session that cannot be stored leaves the one stored before it, and says why', async () => {
    const store = newStore();
    store.set('s1', sessionOf('alice', 'alice@corp.example'));
    const broken = sessionOf('alice', 'alice@corp.example');
    (broken.tokens as { idToken: unknown }).idToken = null;
    const error = await new Promise((resolve) => store.set('s1', broken, resolve));
    expect(error).toBeInstanceOf(TypeError);
    await expect(store.update('s1', broken)).rejects.toThrow('not text');
    expect((await get(store, 's1'))?.tokens.idToken).toBe('id-token-of-alice');
    expect(await store.listUserSessions('alice')).toHaveLength(1);
  });

  test('a session saved again replaces its tokens', async () => {
    const store = newStore();
    store.set('s1', sessionOf('alice', 'alice@corp.example'));
    store.set('s1', sessionOf('alice', 'alice@corp.example', 'refreshed-id-token'));
    expect((await get(store, 's1'))?.tokens.idToken).toBe('refreshed-id-token');
  });

  test("finds, lists and revokes each of a user's sessions, one or several", async () => {
    const store = newStore();
    store.set('a1', sessionOf('alice', 'Alice@Corp.example'));
    store.set('a2', sessionOf('alice', 'alice@corp.example'));
    store.set('a3', sessionOf('alice', 'alice@corp.example'));
    store.set('b1', sessionOf('bob', 'bob@corp.example'));
    const refs = async (user: string) => (await store.listUserSessions(user)).length;
    expect(await refs('alice')).toBe(3);
    expect(await refs('ALICE@corp.example')).toBe(3);
    store.destroy('a2');
    store.destroy('a3');
    expect(await refs('alice')).toBe(1);
    // Saving the last one again keeps it indexed once.
    store.set('a1', sessionOf('alice', 'alice@corp.example'));
    expect(await refs('alice')).toBe(1);
    store.set('a4', sessionOf('alice', 'alice@corp.example'));
    expect((await store.revokeUser('alice')).sort()).toEqual(['a1', 'a4']);
    expect(await refs('alice')).toBe(0);
    expect(await get(store, 'a1')).toBeNull();
    expect(await refs('bob@corp.example')).toBe(1);
    expect(await store.count()).toBe(1);
  });

  test('a session saved with another email is found under the new one only', async () => {
    const store = newStore();
    store.set('a1', sessionOf('alice', 'alice@corp.example'));
    store.set('a1', sessionOf('alice', 'alice.smith@corp.example'));
    expect(await store.listUserSessions('alice@corp.example')).toEqual([]);
    expect(await store.revokeUser('alice@corp.example')).toEqual([]);
    expect(await store.revokeUser('alice.smith@corp.example')).toEqual(['a1']);
  });

  test('revokes only the sessions the condition picks, under an index key', async () => {
    const store = newStore();
    store.set('a1', { ...sessionOf('alice', 'alice@corp.example'), deviceId: 'laptop' });
    store.set('a2', { ...sessionOf('alice', 'alice@corp.example'), deviceId: 'phone' });
    const ended = await store.revokeIndexed(['sub:alice'], (data) => data.deviceId === 'phone');
    expect(ended).toEqual(['a2']);
    expect((await store.listUserSessions('alice')).map((s) => s.deviceId)).toEqual(['laptop']);
  });
});
