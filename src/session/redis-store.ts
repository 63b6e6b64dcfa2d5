import type { SessionData } from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { RedisGrantStore } from '../jit/redis-grants.js';
import { lookupKeysFor, summarize, userKeysOf } from './store.js';
import type { GatewayStore, SessionSummary } from './store.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- express-session's own callback type
type Callback = (err?: any, value?: any) => void;
type Client = ReturnType<typeof createClient>;

const SESSION_PREFIX = 'ztna:sess:';
const INDEX_PREFIX = 'ztna:idx:';

/**
 * A Redis client that fails fast (NOTES.md): no offline queue, bounded socket timeouts, a
 * keep-alive ping, reconnects with backoff, and an error listener (without one, node-redis
 * crashes the process). Connecting does not block start-up: until Redis answers, /readyz says
 * so and session requests get 503.
 */
export function createRedisClient(url: string, log: Logger): Client {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    pingInterval: 5_000,
    socket: {
      connectTimeout: 2_000,
      socketTimeout: 2_000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000),
    },
  });
  let reported = false;
  client.on('error', (error: Error) => {
    // Once per outage, not once per reconnect attempt.
    if (!reported) log.error({ error: error.message }, 'session store (Redis) unreachable');
    reported = true;
  });
  client.on('ready', () => {
    if (reported) log.info('session store (Redis) reachable again');
    reported = false;
  });
  client.connect().catch(() => undefined);
  return client;
}

/**
 * Closes a client without waiting on an outage: QUIT when Redis answers (pending replies
 * arrive first), otherwise the socket is dropped. A QUIT on a client that is reconnecting
 * waits for a connection that may never come, and would hang the gateway's shutdown.
 */
export async function closeRedisClient(client: Client): Promise<void> {
  if (!client.isReady) {
    client.destroy();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.destroy();
  }
}

function unavailable(cause: unknown): GatewayError {
  return new GatewayError('ZTNA_ERR_SESSION_STORE_UNAVAILABLE', { cause });
}

/**
 * A store whose every method turns a Redis failure into the store-unavailable error: a 503, as
 * for sessions, never a 500 (DESIGN §3).
 */
function failingAsUnavailable<T extends object>(target: T): T {
  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        (value as (...a: unknown[]) => Promise<unknown>).apply(object, args).catch((error) => {
          throw unavailable(error);
        });
    },
  });
}

/**
 * Sessions in Redis (`session.store: redis`, SPEC §12): any number of gateway instances share
 * sessions and revocations. connect-redis stores the sessions (TTL = idle timeout, extended on
 * every request); this class adds an index by user (sub and email, each a Redis set that
 * expires with the absolute max age) for the admin API, and turns Redis failures into a 503.
 */
export class RedisSessionStore extends RedisStore implements GatewayStore {
  private readonly redis: Client;
  private readonly maxAgeSeconds: number;
  private readonly idleSeconds: number;
  readonly grants: RedisGrantStore;

  constructor(client: Client, idleMs: number, maxAgeMs: number) {
    const idleSeconds = Math.max(1, Math.ceil(idleMs / 1000));
    super({ client, prefix: SESSION_PREFIX, ttl: () => idleSeconds });
    this.redis = client;
    this.grants = failingAsUnavailable(new RedisGrantStore(client));
    this.idleSeconds = idleSeconds;
    this.maxAgeSeconds = Math.max(1, Math.ceil(maxAgeMs / 1000));
  }

  override async get(sid: string, callback?: Callback): Promise<unknown> {
    try {
      const data = await super.get(sid);
      return callback ? callback(null, data) : data;
    } catch (error) {
      if (callback) return callback(unavailable(error));
      throw unavailable(error);
    }
  }

  /** Every read is parsed afresh from Redis: nothing is shared. */
  getForRequest(sid: string, callback: Callback): void {
    void this.get(sid, callback);
  }

  override async set(sid: string, data: SessionData, callback?: Callback): Promise<unknown> {
    try {
      await super.set(sid, data);
      const keys = userKeysOf(data);
      if (keys.length > 0) {
        const multi = this.redis.multi();
        for (const key of keys)
          multi.sAdd(INDEX_PREFIX + key, sid).expire(INDEX_PREFIX + key, this.maxAgeSeconds);
        await multi.exec();
      }
      return callback?.();
    } catch (error) {
      if (callback) return callback(unavailable(error));
      throw unavailable(error);
    }
  }

  /** `SET … XX`: Redis writes only if the key still exists, atomically across instances. */
  async update(sid: string, data: SessionData): Promise<boolean> {
    try {
      const written = await this.redis.set(SESSION_PREFIX + sid, JSON.stringify(data), {
        XX: true,
        EX: this.idleSeconds,
      });
      return written === 'OK';
    } catch (error) {
      throw unavailable(error);
    }
  }

  override async touch(sid: string, data: SessionData, callback?: Callback): Promise<unknown> {
    try {
      await super.touch(sid, data);
      return callback?.();
    } catch (error) {
      if (callback) return callback(unavailable(error));
      throw unavailable(error);
    }
  }

  override async destroy(sid: string, callback?: Callback): Promise<unknown> {
    try {
      await super.destroy(sid);
      return callback?.();
    } catch (error) {
      if (callback) return callback(unavailable(error));
      throw unavailable(error);
    }
  }

  private async sidsUnder(keys: readonly string[]): Promise<string[]> {
    return this.redis.sUnion(keys.map((key) => INDEX_PREFIX + key));
  }

  async listUserSessions(user: string): Promise<SessionSummary[]> {
    const sids = await this.sidsUnder(lookupKeysFor(user));
    if (sids.length === 0) return [];
    const values = await this.redis.mGet(sids.map((sid) => SESSION_PREFIX + sid));
    return sids.flatMap((sid, i) => {
      const value = values[i];
      return typeof value === 'string' ? [summarize(sid, JSON.parse(value) as SessionData)] : [];
    });
  }

  async revokeUser(user: string): Promise<string[]> {
    return this.revokeIndexed(lookupKeysFor(user));
  }

  async revokeIndexed(
    keys: readonly string[],
    where?: (data: Partial<SessionData>) => boolean,
  ): Promise<string[]> {
    let sids = await this.sidsUnder(keys);
    if (sids.length === 0) return [];
    if (where !== undefined) {
      const values = await this.redis.mGet(sids.map((sid) => SESSION_PREFIX + sid));
      sids = sids.filter((_, i) => {
        const value = values[i];
        return typeof value === 'string' && where(JSON.parse(value) as SessionData);
      });
      if (sids.length === 0) return [];
    }
    const deleted = await Promise.all(sids.map((sid) => this.redis.del(SESSION_PREFIX + sid)));
    // The whole index goes only with everything under it; else just the revoked members.
    if (where === undefined) await this.redis.del(keys.map((key) => INDEX_PREFIX + key));
    else for (const key of keys) await this.redis.sRem(INDEX_PREFIX + key, sids);
    return sids.filter((_, i) => deleted[i] === 1);
  }

  async count(): Promise<number> {
    return (await this.length()) as number;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async shutdown(): Promise<void> {
    await closeRedisClient(this.redis);
  }
}
