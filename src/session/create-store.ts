import type { Logger } from 'pino';
import type { GatewaySettings } from '../config/gateway-settings.js';
import { MemorySessionStore } from './memory-store.js';
import type { GatewayStore } from './store.js';

/**
 * The session store gateway.yaml asks for: embedded memory, or Redis shared by instances.
 * The Redis client and connect-redis are loaded only when asked for: together they add about
 * 20 MB to the resident memory of every single-instance gateway that never uses them.
 */
export async function createSessionStore(
  session: GatewaySettings['session'],
  log: Logger,
): Promise<GatewayStore> {
  if (session.store.kind === 'memory') return new MemorySessionStore(session.idleTimeoutMs);
  const { createRedisClient, RedisSessionStore } = await import('./redis-store.js');
  return new RedisSessionStore(
    createRedisClient(session.store.url, log),
    session.idleTimeoutMs,
    session.maxAgeMs,
  );
}
