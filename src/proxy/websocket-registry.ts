import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { GatewayStore } from '../session/store.js';
import type { Grant } from '../jit/grants.js';

/**
 * Open WebSockets by session (SPEC §5: open WebSockets of a session are closed when that session
 * is logged out or revoked). Logout and the admin API close them at once on this instance; a
 * periodic sweep closes those whose session is gone from the store, which also covers
 * revocations made through another instance sharing the store, and expiries.
 */
/** Longer than any upgrade takes from its session read to its registration. */
const ENDED_MEMORY_MS = 60_000;

export function createWebSocketRegistry(
  store: GatewayStore,
  log: Logger,
  sweepMs = 15_000,
  now: () => number = Date.now,
) {
  const bySession = new Map<string, Set<Socket>>();
  /** Sockets a just-in-time grant let through, by grant id: they close when it ends. */
  const byGrant = new Map<string, { readonly expiresAt: number; readonly sockets: Set<Socket> }>();
  /** Grants ended lately (id → until, epoch ms), for the same gap as `ended` below. */
  const endedGrants = new Map<string, number>();
  /**
   * Sessions ended lately (sid → until, epoch ms). An upgrade authorized just before its
   * session ended registers after the end was enforced; it must not slip through the gap
   * between the pipeline's session read and its registration.
   */
  const ended = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  function forgetOldEnds(at: number): void {
    // Insertion order is end order: stop at the first one still remembered.
    for (const memory of [ended, endedGrants])
      for (const [id, until] of memory) {
        if (until > at) break;
        memory.delete(id);
      }
  }

  function closeGrant(id: string): number {
    const at = Date.now();
    forgetOldEnds(at);
    endedGrants.delete(id);
    endedGrants.set(id, at + ENDED_MEMORY_MS);
    const held = byGrant.get(id);
    if (held === undefined) return 0;
    byGrant.delete(id);
    for (const socket of held.sockets) socket.destroy();
    return held.sockets.size;
  }

  /**
   * Grant sockets whose grant ran out by this instance's clock, or is gone from the store: the
   * safety net when the message of another instance's revocation or expiry sweep was lost.
   */
  async function sweepGrants(): Promise<void> {
    if (byGrant.size === 0) return;
    const at = now();
    let running: Set<string>;
    try {
      running = new Set((await store.grants.list(at)).map((g) => g.id));
    } catch {
      return; // A store error is not a revocation (as for sessions below).
    }
    for (const [id, held] of [...byGrant])
      if (held.expiresAt <= at || !running.has(id))
        log.info({ sockets: closeGrant(id) }, 'closed WebSockets of an ended grant');
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
    await sweepGrants();
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
     * grant closes it, whatever happens to the session. False (and the socket is destroyed)
     * when the grant ended since the pipeline read it.
     */
    holdGrant(grant: Grant, socket: Socket): boolean {
      forgetOldEnds(Date.now());
      // Ended since the pipeline read it (revoked while the upgrade was being authorized).
      if (endedGrants.has(grant.id) || grant.expiresAt <= now()) {
        socket.destroy();
        return false;
      }
      let held = byGrant.get(grant.id);
      if (held === undefined)
        byGrant.set(grant.id, (held = { expiresAt: grant.expiresAt, sockets: new Set() }));
      const { sockets } = held;
      sockets.add(socket);
      socket.once('close', () => {
        sockets.delete(socket);
        if (sockets.size === 0 && byGrant.get(grant.id) === held) byGrant.delete(grant.id);
      });
      return true;
    },
    /** Closes the WebSockets these grants let through; returns how many were closed. */
    closeGrants(grantIds: readonly string[]): number {
      return grantIds.reduce((closed, id) => closed + closeGrant(id), 0);
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
