import express from 'express';
import type { Request, Response } from 'express';
import type { Metrics } from '../metrics/registry.js';

/** A part the gateway needs before it can serve logins; /readyz names those that are not ready. */
export interface ReadinessCheck {
  readonly name: string;
  ready(): boolean | Promise<boolean>;
}

/**
 * The admin listener (SPEC §9): metrics and health, on a separate address from the proxy, so
 * nothing here is reachable through a route and no header on the proxy side can reach it.
 */
export function createAdminApp(metrics: Metrics, checks: readonly ReadinessCheck[]) {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req: Request, res: Response) => {
    const failing: string[] = [];
    for (const check of checks) {
      try {
        if (!(await check.ready())) failing.push(check.name);
      } catch {
        failing.push(check.name);
      }
    }
    res
      .status(failing.length === 0 ? 200 : 503)
      .json({ status: failing.length === 0 ? 'ready' : 'not ready', failing });
  });
  app.get('/metrics', async (_req: Request, res: Response) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  });
  return app;
}
