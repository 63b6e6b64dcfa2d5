import type { Logger } from 'pino';
import type { GatewaySettings } from '../config/gateway-settings.js';
import { MemorySessionStore } from './memory-store.js';
import { createRedisClient, RedisSessionStore } from './redis-store.js';
import type { GatewayStore } from './store.js';

/** The session store gateway.yaml asks for: embedded memory, or Redis shared by instances. */
export function createSessionStore(session: GatewaySettings['session'], log: Logger): GatewayStore {
  if (session.store.kind === 'memory') return new MemorySessionStore(session.idleTimeoutMs);
  return new RedisSessionStore(
    createRedisClient(session.store.url, log),
    session.idleTimeoutMs,
    session.maxAgeMs,
  );
}
