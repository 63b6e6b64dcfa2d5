import { createServer as createHttpServer } from 'node:http';
import type { Server, ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Loggers } from '../audit/loggers.js';
import { createAdminApp } from '../admin/admin-app.js';
import type { ReadinessCheck } from '../admin/admin-app.js';
import { createApp } from '../app.js';
import { loadAssertionKeys } from '../assertion/keys.js';
import { createOidcClient } from '../auth/oidc-client.js';
import { createRoutesReloader } from '../config/reload.js';
import type { ReloadResult, ReloadTrigger } from '../config/reload.js';
import type { GatewaySettings } from '../config/gateway-settings.js';
import { gatewayFactsOf } from '../config/route-table.js';
import type { RouteTable } from '../config/route-table.js';
import type { GrantStore } from '../jit/grant-store.js';
import { createMetrics } from '../metrics/registry.js';
import type { Metrics } from '../metrics/registry.js';
import { startBufferCollection, youngCollectorOf } from '../proxy/buffer-collection.js';
import { createUpstreamPools } from '../proxy/pools.js';
import { createRevocationBus } from '../revocation/create-bus.js';
import { createSessionStore } from '../session/create-store.js';

/**
 * The proxy listener's limits (gateway.yaml `limits`): bounded headers, a deadline for the
 * request head (slowloris) and for the whole request, short idle keep-alive. Node checks the
 * deadlines every `connectionsCheckingInterval` (30 s by default, which would let a slowloris
 * hold a socket up to 30 s past its deadline); we check at least every second.
 */
function proxyServerOptions(limits: GatewaySettings['limits']): ServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.ceil(limits.headerTimeoutMs / 4)),
  };
}

/** Whether a listen host accepts connections from this machine only. */
function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(bare);
}

export interface StartGatewayOptions {
  readonly settings: GatewaySettings;
  readonly table: RouteTable;
  readonly loggers: Loggers;
  readonly now?: () => number;
  /** How long SIGTERM waits for in-flight requests before cutting connections. */
  readonly drainTimeoutMs?: number;
  /** routes.yaml to hot-reload; without it the table is fixed (the demo). */
  readonly routesFile?: string;
  /** Poll interval of the reload fallback, for tests. */
  readonly reloadPollMs?: number;
}

/** A running gateway: both listeners up; `close` drains and stops everything. */
export interface RunningGateway {
  readonly proxyAddress: AddressInfo;
  readonly adminAddress: AddressInfo;
  readonly metrics: Metrics;
  /** Runs the just-in-time grant expiry sweep now (it also runs every 5 s); resolves with how many expired. */
  expireGrants(): Promise<number>;
  /** The just-in-time grants in the session store (tests issue grants there as an approval would). */
  readonly grants: GrantStore;
  /** Re-reads routes.yaml now (SIGHUP); resolves with what happened. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult>;
  close(): Promise<void>;
}

function listen(server: Server, address: { host: string; port: number }): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `${address.host}:${address.port} is already in use; choose another address (--listen or listen/admin_listen)`,
            )
          : error,
      );
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stops accepting, lets in-flight requests finish, then cuts what is left at the deadline. */
async function drain(server: Server, upgraded: Set<Socket>, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const deadline = Date.now() + timeoutMs;
  // Keep-alive connections become idle once their response is done: close them as they do.
  const sweeper = setInterval(() => server.closeIdleConnections(), 100);
  server.closeIdleConnections();
  const timedOut = new Promise<void>((resolve) =>
    setTimeout(resolve, Math.max(0, deadline - Date.now())).unref(),
  );
  await Promise.race([closed, timedOut]);
  clearInterval(sweeper);
  server.closeAllConnections();
  for (const socket of upgraded) socket.destroy();
  await closed;
}

/**
 * Starts the gateway: the proxy listener (HTTP or HTTPS) with the pipeline of app.ts, and the
 * admin listener. Used by `serve` and by the integration tests, which run it on port 0.
 */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { settings, loggers } = options;
  const metrics = createMetrics();
  const oidc = createOidcClient(settings.idp, loggers.log);
  const store = await createSessionStore(settings.session, loggers.log);
  const revocations = await createRevocationBus(settings.session, loggers.log);
  const pools = createUpstreamPools();
  const reloader = createRoutesReloader({
    file: options.routesFile ?? '',
    initial: options.table,
    gateway: gatewayFactsOf(settings),
    log: loggers.log,
    metrics,
    ...(options.reloadPollMs !== undefined && { pollMs: options.reloadPollMs }),
  });
  if (options.routesFile !== undefined) reloader.start();
  metrics.countSessionsWith(() => store.count().catch(() => 0));
  metrics.countGrantsWith(() =>
    store.grants.countActive((options.now ?? Date.now)()).catch(() => 0),
  );

  const assertionKeys = await loadAssertionKeys(settings.assertion.keyFile, loggers.log);
  const gateway = createApp({
    settings,
    assertionKeys,
    routes: reloader.current,
    oidc,
    store,
    revocations,
    pools,
    metrics,
    loggers,
    now: options.now ?? Date.now,
  });
  const serverOptions = proxyServerOptions(settings.limits);
  const proxyServer = settings.tls
    ? createHttpsServer(
        {
          ...serverOptions,
          // A TLS handshake gets no longer than the request head would (default: 120 s).
          handshakeTimeout: settings.limits.headerTimeoutMs,
          cert: settings.tls.cert,
          key: settings.tls.key,
        },
        gateway.handleRequest,
      )
    : createHttpServer(serverOptions, gateway.handleRequest);
  const upgraded = new Set<Socket>();
  proxyServer.on('upgrade', (req, socket: Socket, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    gateway.handleUpgrade(req, socket, head);
  });

  proxyServer.on('connect', (req, socket: Socket) => gateway.handleConnect(req, socket));

  // /readyz (SPEC §9): routes loaded, IdP discovered, session store answering.
  const checks: ReadinessCheck[] = [
    { name: 'config', ready: () => reloader.current().routes.length >= 0 },
    { name: 'idp', ready: () => oidc.isReady() },
    { name: 'session_store', ready: () => store.ping() },
  ];
  const adminServer = createHttpServer(
    createAdminApp({
      metrics,
      checks,
      store,
      token: settings.adminToken,
      log: loggers.log,
      onRevoked: (sids) => gateway.sessionsEnded(sids, 'admin'),
      jit: {
        routes: reloader.current,
        recordJit: gateway.recordJit,
        grantsEnded: gateway.grantsEnded,
        now: options.now ?? Date.now,
      },
    }),
  );

  oidc.start();
  let proxyAddress: AddressInfo;
  let adminAddress: AddressInfo;
  try {
    proxyAddress = await listen(proxyServer, settings.listen);
    adminAddress = await listen(adminServer, settings.adminListen);
  } catch (error) {
    proxyServer.close();
    oidc.close();
    void store.shutdown();
    void revocations.close();
    throw error;
  }
  if (settings.adminToken === undefined && !isLoopback(settings.adminListen.host)) {
    loggers.log.warn(
      { admin: adminAddress },
      'the admin listener is reachable beyond this machine and no admin token is configured: anyone who can reach it can read metrics and list or revoke sessions; set admin_token_env',
    );
  }
  const bufferCollection = startBufferCollection({ collectYoung: youngCollectorOf(globalThis) });
  loggers.log.info(
    {
      listen: proxyAddress,
      admin: adminAddress,
      routes: reloader.current().routes.length,
      tls: settings.tls !== undefined,
      // Off when node was started without --expose-gc: large transfers then hold more memory.
      buffer_collection: bufferCollection.active,
    },
    'gateway listening',
  );

  let closing: Promise<void> | undefined;
  return {
    proxyAddress,
    adminAddress,
    metrics,
    expireGrants: () => gateway.expireGrants(),
    grants: store.grants,
    reload: (trigger) =>
      options.routesFile === undefined ? Promise.resolve('unchanged') : reloader.reload(trigger),
    close() {
      closing ??= (async () => {
        loggers.log.info('draining');
        await drain(proxyServer, upgraded, options.drainTimeoutMs ?? 25_000);
        bufferCollection.stop();
        adminServer.closeAllConnections();
        await new Promise<void>((resolve) => adminServer.close(() => resolve()));
        oidc.close();
        gateway.close();
        await store.shutdown();
        await revocations.close();
        await pools.close();
        reloader.close();
        loggers.log.info('stopped');
        loggers.flush();
      })();
      return closing;
    },
  };
}
