import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { GatewayStore } from '../session/store.js';

/**
 * Open WebSockets by session (SPEC §5: open WebSockets of a session are closed when that session
 * is logged out or revoked). Logout and the admin API close them at once on this instance; a
 * periodic sweep closes those whose session is gone from the store, which also covers
 * revocations made through another instance sharing the store, and expiries.
 */
export function createWebSocketRegistry(store: GatewayStore, log: Logger, sweepMs = 15_000) {
  const bySession = new Map<string, Set<Socket>>();
  let timer: NodeJS.Timeout | undefined;

  function closeSession(sid: string): number {
    const sockets = bySession.get(sid);
    if (sockets === undefined) return 0;
    bySession.delete(sid);
    for (const socket of sockets) socket.destroy();
    return sockets.size;
  }

  async function sweep(): Promise<void> {
    for (const sid of [...bySession.keys()]) {
      const alive = await new Promise<boolean>((resolve) =>
        store.get(sid, (error, data) =>
          resolve(error !== null && error !== undefined ? true : data != null),
        ),
      );
      // A store error is not a revocation: keep the socket rather than cut everyone off.
      if (!alive) log.info({ sockets: closeSession(sid) }, 'closed WebSockets of an ended session');
    }
  }

  return {
    /** Tracks a socket opened under a session; forgets it when it closes. */
    add(sid: string, socket: Socket): void {
      let sockets = bySession.get(sid);
      if (sockets === undefined) bySession.set(sid, (sockets = new Set()));
      sockets.add(socket);
      socket.once('close', () => {
        sockets.delete(socket);
        if (sockets.size === 0 && bySession.get(sid) === sockets) bySession.delete(sid);
      });
    },
    /** Closes every WebSocket of these sessions now; returns how many were closed. */
    closeSessions(sids: readonly string[]): number {
      return sids.reduce((closed, sid) => closed + closeSession(sid), 0);
    },
    start(): void {
      timer = setInterval(() => void sweep(), sweepMs);
      timer.unref();
    },
    stop(): void {
      clearInterval(timer);
    },
    sweep,
  };
}

export type WebSocketRegistry = ReturnType<typeof createWebSocketRegistry>;
