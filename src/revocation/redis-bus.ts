import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { closeRedisClient, createRedisClient } from '../session/redis-store.js';
import { readRevocation } from './bus.js';
import type { Revocation, RevocationBus } from './bus.js';

const CHANNEL = 'ztna:revocations';

/**
 * Revocations over Redis pub/sub, on the Redis the sessions live in. A subscribed connection
 * can do nothing else, so the bus has two clients of its own. Each message names the instance
 * that sent it, which has already enforced the revocation and ignores its own echo.
 */
export function createRedisRevocationBus(url: string, log: Logger): RevocationBus {
  const instance = randomUUID();
  const publisher = createRedisClient(url, log);
  const subscriber = createRedisClient(url, log);
  const listeners: Array<(revocation: Revocation) => void> = [];

  // node-redis re-subscribes after a reconnect by itself; a revocation sent while this instance
  // was cut off is caught by the sweep (its sessions are gone from the store).
  void subscriber
    .subscribe(CHANNEL, (message) => {
      let envelope: { from?: unknown; revocation?: unknown };
      try {
        envelope = JSON.parse(message) as typeof envelope;
      } catch {
        envelope = {};
      }
      if (envelope.from === instance) return;
      const revocation = readRevocation(envelope.revocation);
      if (revocation === undefined) {
        log.warn({ channel: CHANNEL }, 'ignored a malformed revocation message');
        return;
      }
      for (const listener of listeners) listener(revocation);
    })
    .catch((error: unknown) =>
      log.error({ error: (error as Error).message }, 'could not subscribe to revocations'),
    );

  return {
    async publish(revocation) {
      try {
        await publisher.publish(CHANNEL, JSON.stringify({ from: instance, revocation }));
      } catch (error) {
        log.warn(
          { error: (error as Error).message, sessions: revocation.sids.length },
          'could not publish a revocation; other instances close its WebSockets at their next sweep',
        );
      }
    },
    onRevocation(listener) {
      listeners.push(listener);
    },
    async close() {
      await Promise.allSettled([closeRedisClient(publisher), closeRedisClient(subscriber)]);
    },
  };
}
