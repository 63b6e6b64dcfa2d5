import type { Logger } from 'pino';
import { describe } from '../auth/oidc-client.js';
import type { JitRecorder } from './events.js';
import type { GrantStore } from './grant-store.js';
import type { Grant } from './grants.js';

export interface GrantExpiryDeps {
  readonly grants: GrantStore;
  readonly recordJit: JitRecorder;
  /** Ends what lives on with expired grants (WebSockets they let through), everywhere. */
  readonly onExpired: (grants: readonly Grant[]) => void;
  readonly log: Logger;
  readonly now: () => number;
  readonly everyMs?: number;
}

/**
 * Writes the `expired` step of grants that ran out, once per grant across instances (the store
 * hands each to one sweeper), and closes the WebSockets they let through. Access itself ends
 * at the exact expiry without the sweep: the `grant` condition compares with the request's time.
 */
export function createGrantExpiry(deps: GrantExpiryDeps) {
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  async function sweep(): Promise<number> {
    if (running) return 0;
    running = true;
    try {
      const expired = await deps.grants.takeExpired(deps.now());
      for (const grant of expired)
        deps.recordJit({ event: 'expired', subject: grant, by: 'gateway' });
      if (expired.length > 0) deps.onExpired(expired);
      return expired.length;
    } catch (error) {
      // A store outage delays the record, never access: the condition checks expiry itself.
      deps.log.warn({ error: describe(error) }, 'grant expiry sweep failed; retrying');
      return 0;
    } finally {
      running = false;
    }
  }

  return {
    sweep,
    start(): void {
      timer = setInterval(() => void sweep(), deps.everyMs ?? 5_000);
      timer.unref();
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}
