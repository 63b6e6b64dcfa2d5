import type { Logger } from 'pino';
import type { GatewaySettings } from '../config/gateway-settings.js';
import { SINGLE_INSTANCE_BUS } from './bus.js';
import type { RevocationBus } from './bus.js';

/** The bus that matches the session store: Redis pub/sub when sessions are shared. */
export async function createRevocationBus(
  session: GatewaySettings['session'],
  log: Logger,
): Promise<RevocationBus> {
  if (session.store.kind === 'memory') return SINGLE_INSTANCE_BUS;
  const { createRedisRevocationBus } = await import('./redis-bus.js');
  return createRedisRevocationBus(session.store.url, log);
}
