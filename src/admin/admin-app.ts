import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/registry.js';
import type { GatewayStore } from '../session/store.js';
import { createGrantsApi } from './grants-api.js';
import type { GrantsApiDeps } from './grants-api.js';

/** A part the gateway needs to serve; /readyz names those that are not ready. */
export interface ReadinessCheck {
  readonly name: string;
  ready(): boolean | Promise<boolean>;
}

export interface AdminDeps {
  readonly metrics: Metrics;
  readonly checks: readonly ReadinessCheck[];
  readonly store: GatewayStore;
  /**
   * When set, every admin endpoint requires `Authorization: Bearer <token>`, except the probes
   * (/healthz, /readyz), which answer anyone but name a failing part only to the token.
   */
  readonly token: string | undefined;
  readonly log: Logger;
  /** Called with the ids of revoked sessions: their WebSockets are closed. */
  readonly onRevoked: (sids: readonly string[]) => number;
  /** What /admin/grants lists, issues and revokes just-in-time grants with (SPEC §13). */
  readonly jit: Omit<GrantsApiDeps, 'grants'>;
}

/** A readiness check that takes longer than this counts as failing. */
const CHECK_TIMEOUT_MS = 1_500;

function withTimeout(check: ReadinessCheck): Promise<boolean> {
  return Promise.race([
    Promise.resolve()
      .then(() => check.ready())
      .catch(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CHECK_TIMEOUT_MS).unref()),
  ]);
}

/** Compares tokens in constant time, whatever their lengths (hashes first). */
function sameToken(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/** Whether the request may see everything: no token is configured, or it carries the token. */
function isAdmin(req: Request, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : '';
  return given !== '' && sameToken(token, given);
}

function requireToken(token: string) {
  return function checkAdminToken(req: Request, res: Response, next: NextFunction): void {
    if (isAdmin(req, token)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="ztna-admin"');
    res.status(401).json({ error: 'admin token required' });
  };
}

/**
 * The admin listener (SPEC §9): metrics, health, readiness, the sessions and grants APIs, on its own
 * address. Nothing here is reachable through a route, and no header sent to the proxy side can
 * reach it.
 */
export function createAdminApp(deps: AdminDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  // Probes (SPEC §9): Kubernetes calls these without a token, so they answer anyone, before the
  // token gate. Without the token the answer is the status code and a word; which part fails
  // (the store, the IdP) is a detail for operators only.
  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (req: Request, res: Response) => {
    const results = await Promise.all(
      deps.checks.map(async (check) => [check.name, await withTimeout(check)] as const),
    );
    const failing = results.filter(([, ready]) => !ready).map(([name]) => name);
    const status = failing.length === 0 ? 'ok' : 'unavailable';
    res
      .status(failing.length === 0 ? 200 : 503)
      .json(isAdmin(req, deps.token) ? { status, failing } : { status });
  });

  if (deps.token !== undefined) app.use(requireToken(deps.token));

  app.get('/metrics', async (_req: Request, res: Response) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.end(await deps.metrics.registry.metrics());
  });

  app.get('/admin/sessions', async (req: Request, res: Response) => {
    const user = typeof req.query.user === 'string' ? req.query.user : '';
    if (user === '')
      return void res.status(400).json({ error: 'user is required: ?user=<sub or email>' });
    const sessions = await deps.store.listUserSessions(user);
    res.json({
      user,
      sessions: sessions.map((s) => ({
        ref: s.ref,
        sub: s.sub,
        email: s.email ?? null,
        created_at: s.createdAt === undefined ? null : new Date(s.createdAt).toISOString(),
        device_id: s.deviceId ?? null,
      })),
    });
  });

  // Revoke everywhere, immediately (SPEC §9): the sessions are gone from the shared store, so
  // every instance refuses them on the next request; WebSockets here close now, elsewhere at
  // their next sweep.
  app.delete('/admin/sessions', async (req: Request, res: Response) => {
    const user = typeof req.query.user === 'string' ? req.query.user : '';
    if (user === '')
      return void res.status(400).json({ error: 'user is required: ?user=<sub or email>' });
    const sids = await deps.store.revokeUser(user);
    const closed = deps.onRevoked(sids);
    if (sids.length > 0) deps.metrics.authEvents.inc({ event: 'revoked' }, sids.length);
    deps.log.info(
      { user, revoked: sids.length, websockets_closed: closed },
      'sessions revoked by an admin',
    );
    res.json({ user, revoked: sids.length, websockets_closed: closed });
  });

  app.use(createGrantsApi({ ...deps.jit, grants: deps.store.grants }));

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  // A failing store call must not crash the admin listener either.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    deps.log.error({ error: (error as Error).message }, 'admin request failed');
    res.status(503).json({ error: 'unavailable' });
  });
  return app;
}
