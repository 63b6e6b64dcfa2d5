import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';
import type { CompiledRoute } from '../config/route-table.js';

/**
 * undici's Pool alone. Its index also loads fetch, WebSocket, caches, proxies and mocks, which
 * the gateway never uses: about 10 MB of RSS from start, and peak RSS under load is a goal
 * (issue 11). The package has no `exports` map, so the module path is public.
 */
const Pool = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
type Pool = UndiciPool;

/**
 * Verifies an upstream certificate against the route's own identity. Without it, an IP
 * upstream with preserve_host would be checked against the TLS name undici takes from the
 * forwarded Host header: a name the client chose.
 */
export function checkIdentityOf(identity: string) {
  return (_servername: string, cert: PeerCertificate) => checkServerIdentity(identity, cert);
}

/**
 * Keep-alive connection pools to upstreams, one per origin and TLS setting, shared across
 * route-table reloads so that a reload does not drop warm connections.
 */
export function createUpstreamPools() {
  const pools = new Map<string, Pool>();
  // Routes are immutable and live as long as their table: one lookup per route, not per request.
  const byRoute = new WeakMap<CompiledRoute, Pool>();

  function sharedPoolFor(route: CompiledRoute): Pool {
    const tls = route.upstreamTls;
    const key = `${route.upstream.origin}|${tls?.ca ?? ''}|${tls?.serverName ?? ''}`;
    let pool = pools.get(key);
    if (pool === undefined) {
      pool = new Pool(route.upstream.origin, {
        // Idle connections are dropped after 4 s, before the 5 s keep-alive of a typical
        // Node upstream, so a request is not sent on a socket the upstream is closing.
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 4_000,
        // Verification is always on (SPEC §4.2: never skip it silently); a private CA is added.
        connect: {
          rejectUnauthorized: true,
          ...(tls?.ca !== undefined && { ca: tls.ca }),
          ...(tls?.serverName !== undefined && { servername: tls.serverName }),
          ...(tls !== undefined && { checkServerIdentity: checkIdentityOf(tls.identity) }),
        },
      });
      pools.set(key, pool);
    }
    return pool;
  }

  return {
    poolFor(route: CompiledRoute): Pool {
      let pool = byRoute.get(route);
      if (pool === undefined) byRoute.set(route, (pool = sharedPoolFor(route)));
      return pool;
    },
    async close(): Promise<void> {
      await Promise.all([...pools.values()].map((pool) => pool.destroy()));
      pools.clear();
    },
  };
}

export type UpstreamPools = ReturnType<typeof createUpstreamPools>;
