import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { GatewayStore } from '../session/store.js';

/**
 * Open WebSockets by session (SPEC §5: open WebSockets of a session are closed when that session
 * is logged out or revoked). Logout and the admin API close them at once on this instance; a
 * periodic sweep closes those whose session is gone from the store, which also covers
 * revocations made through another instance sharing the store, and expiries.
 */
/** Longer than any upgrade takes from its session read to its registration. */
const ENDED_MEMORY_MS = 60_000;

export function createWebSocketRegistry(store: GatewayStore, log: Logger, sweepMs = 15_000) {
  const bySession = new Map<string, Set<Socket>>();
  /** Sockets a just-in-time grant let through, by grant id: they close when it ends. */
  const byGrant = new Map<string, Set<Socket>>();
  /**
   * Sessions ended lately (sid → until, epoch ms). An upgrade authorized just before its
   * session ended registers after the end was enforced; it must not slip through the gap
   * between the pipeline's session read and its registration.
   */
  const ended = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  function forgetOldEnds(now: number): void {
    // Insertion order is end order: stop at the first one still remembered.
    for (const [sid, until] of ended) {
      if (until > now) break;
      ended.delete(sid);
    }
  }

  function closeSession(sid: string): number {
    const now = Date.now();
    forgetOldEnds(now);
    ended.delete(sid);
    ended.set(sid, now + ENDED_MEMORY_MS);
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
    /**
     * Tracks a socket opened under a session; forgets it when it closes. Called before the
     * upgrade is forwarded. False (and the socket is destroyed) when the session has ended
     * since the pipeline read it.
     */
    add(sid: string, socket: Socket): boolean {
      forgetOldEnds(Date.now());
      if (ended.has(sid)) {
        socket.destroy();
        return false;
      }
      let sockets = bySession.get(sid);
      if (sockets === undefined) bySession.set(sid, (sockets = new Set()));
      sockets.add(socket);
      socket.once('close', () => {
        sockets.delete(socket);
        if (sockets.size === 0 && bySession.get(sid) === sockets) bySession.delete(sid);
      });
      return true;
    },
    /**
     * Tracks a socket that a just-in-time grant let through (SPEC §13): revoking or expiring the
     * grant closes it, whatever happens to the session.
     */
    holdGrant(grantId: string, socket: Socket): void {
      let sockets = byGrant.get(grantId);
      if (sockets === undefined) byGrant.set(grantId, (sockets = new Set()));
      sockets.add(socket);
      socket.once('close', () => {
        sockets.delete(socket);
        if (sockets.size === 0 && byGrant.get(grantId) === sockets) byGrant.delete(grantId);
      });
    },
    /** Closes the WebSockets these grants let through; returns how many were closed. */
    closeGrants(grantIds: readonly string[]): number {
      let closed = 0;
      for (const id of grantIds) {
        const sockets = byGrant.get(id);
        byGrant.delete(id);
        for (const socket of sockets ?? []) socket.destroy();
        closed += sockets?.size ?? 0;
      }
      return closed;
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
