import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { GatewayStore } from '../session/store.js';
import type { Grant } from '../jit/grants.js';

/** Longer than any upgrade takes from its session read to its registration. */
const ENDED_MEMORY_MS = 60_000;

/**
 * Sockets in groups that close together, by key (a session id, a grant id), with a memory of
 * the keys ended lately (key → until, epoch ms). An upgrade authorized just before its session
 * or grant ended registers after the end was enforced; it must not slip through the gap
 * between the pipeline's read and its registration.
 */
function createSocketGroups() {
  const groups = new Map<string, Set<Socket>>();
  const ended = new Map<string, number>();

  function forgetOldEnds(at: number): void {
    // Insertion order is end order: stop at the first one still remembered.
    for (const [key, until] of ended) {
      if (until > at) break;
      ended.delete(key);
    }
  }

  return {
    /** Tracks a socket until it closes; false (and it is destroyed) when its key has ended. */
    add(key: string, socket: Socket): boolean {
      forgetOldEnds(Date.now());
      if (ended.has(key)) {
        socket.destroy();
        return false;
      }
      let sockets = groups.get(key);
      if (sockets === undefined) groups.set(key, (sockets = new Set()));
      sockets.add(socket);
      socket.once('close', () => {
        sockets.delete(socket);
        if (sockets.size === 0 && groups.get(key) === sockets) groups.delete(key);
      });
      return true;
    },
    /** Ends a key: its sockets close now, and later ones are refused; returns how many closed. */
    close(key: string): number {
      const at = Date.now();
      forgetOldEnds(at);
      ended.delete(key);
      ended.set(key, at + ENDED_MEMORY_MS);
      const sockets = groups.get(key);
      if (sockets === undefined) return 0;
      groups.delete(key);
      for (const socket of sockets) socket.destroy();
      return sockets.size;
    },
    has: (key: string) => groups.has(key),
    keys: () => [...groups.keys()],
  };
}

/**
 * Open WebSockets by session (SPEC §5: open WebSockets of a session are closed when that session
 * is logged out or revoked). Logout and the admin API close them at once on this instance; a
 * periodic sweep closes those whose session is gone from the store, which also covers
 * revocations made through another instance sharing the store, and expiries. The same holds
 * for the WebSockets a just-in-time grant let through (SPEC §13), by grant.
 */
export function createWebSocketRegistry(
  store: GatewayStore,
  log: Logger,
  sweepMs = 15_000,
  now: () => number = Date.now,
) {
  const bySession = createSocketGroups();
  /** Sockets a just-in-time grant let through, by grant id: they close when it ends. */
  const byGrant = createSocketGroups();
  /** When each grant that holds sockets runs out (by the gateway's clock). */
  const grantExpiries = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  /**
   * Grant sockets whose grant ran out by this instance's clock, or is gone from the store: the
   * safety net when the message of another instance's revocation or expiry sweep was lost.
   */
  async function sweepGrants(): Promise<void> {
    for (const id of grantExpiries.keys()) if (!byGrant.has(id)) grantExpiries.delete(id);
    if (grantExpiries.size === 0) return;
    const at = now();
    let running: Set<string>;
    try {
      running = new Set((await store.grants.list(at)).map((g) => g.id));
    } catch {
      return; // A store error is not a revocation (as for sessions below).
    }
    for (const [id, expiresAt] of [...grantExpiries])
      if (expiresAt <= at || !running.has(id))
        log.info({ sockets: byGrant.close(id) }, 'closed WebSockets of an ended grant');
  }

  async function sweep(): Promise<void> {
    await sweepGrants();
    for (const sid of bySession.keys()) {
      const alive = await new Promise<boolean>((resolve) =>
        store.get(sid, (error, data) =>
          resolve(error !== null && error !== undefined ? true : data != null),
        ),
      );
      // A store error is not a revocation: keep the socket rather than cut everyone off.
      if (!alive)
        log.info({ sockets: bySession.close(sid) }, 'closed WebSockets of an ended session');
    }
  }

  return {
    /**
     * Tracks a socket opened under a session; forgets it when it closes. Called before the
     * upgrade is forwarded. False (and the socket is destroyed) when the session has ended
     * since the pipeline read it.
     */
    add: (sid: string, socket: Socket): boolean => bySession.add(sid, socket),
    /**
     * Tracks a socket that a just-in-time grant let through (SPEC §13): revoking or expiring the
     * grant closes it, whatever happens to the session. False (and the socket is destroyed)
     * when the grant ended since the pipeline read it.
     */
    holdGrant(grant: Grant, socket: Socket): boolean {
      if (grant.expiresAt <= now()) {
        socket.destroy();
        return false;
      }
      if (!byGrant.add(grant.id, socket)) return false;
      grantExpiries.set(grant.id, grant.expiresAt);
      return true;
    },
    /** Closes the WebSockets these grants let through; returns how many were closed. */
    closeGrants(grantIds: readonly string[]): number {
      return grantIds.reduce((closed, id) => closed + byGrant.close(id), 0);
    },
    /** Closes every WebSocket of these sessions now; returns how many were closed. */
    closeSessions(sids: readonly string[]): number {
      return sids.reduce((closed, sid) => closed + bySession.close(sid), 0);
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
