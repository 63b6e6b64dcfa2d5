import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/registry.js';
import { formatIssue, sortIssues } from './issues.js';
import { readConfigText } from './load.js';
import { buildRouteTable, hashRoutesText } from './route-table.js';
import type { GatewayFacts, RouteTable } from './route-table.js';

export type ReloadTrigger = 'watch' | 'signal' | 'poll' | 'manual';
export type ReloadResult = 'unchanged' | 'success' | 'failure';

export interface RoutesReloaderOptions {
  readonly file: string;
  readonly initial: RouteTable;
  /** What routes.yaml is checked and compiled against (idp.mfa_acr_values, service_tokens). */
  readonly gateway: GatewayFacts;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Fallback check interval for file systems without change events (0 disables). */
  readonly pollMs?: number;
  /** Editors write in bursts (truncate, write, rename): wait this long after the last event. */
  readonly debounceMs?: number;
}

/**
 * Keeps the route table in step with routes.yaml (SPEC §4.2). Every version is validated and
 * compiled whole; only then is the one reference swapped, so a request keeps the table it
 * started with. A bad version never takes effect: the last good one keeps serving, the error
 * is logged with file:line:col and counted in `ztna_config_reloads_total{result="failure"}`.
 *
 * The directory is watched, not the file: editors that save by rename (vim) and Kubernetes
 * ConfigMaps (a `..data` symlink swapped atomically) replace the file, which a watch on the
 * file itself would miss. A slow poll covers file systems without change events.
 */
export function createRoutesReloader(options: RoutesReloaderOptions) {
  const { file, log, metrics } = options;
  let table = options.initial;
  // The last text seen, good or bad: the same broken file is reported once, not every poll.
  let lastSeen = options.initial.hash;
  let running: Promise<ReloadResult> | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let poller: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;

  function publish(next: RouteTable): void {
    table = next;
    metrics.configInfo.reset();
    metrics.configInfo.set({ hash: next.hash, routes: String(next.routes.length) }, 1);
  }
  publish(table);

  async function reloadOnce(trigger: ReloadTrigger): Promise<ReloadResult> {
    const read = await readConfigText(file);
    const text = 'text' in read ? read.text : undefined;
    const hash = text === undefined ? 'unreadable' : hashRoutesText(text);
    if (hash === lastSeen) {
      if (trigger === 'signal' || trigger === 'manual')
        log.info({ file, trigger, result: 'unchanged', hash }, 'routes reload');
      return 'unchanged';
    }
    lastSeen = hash;
    const result =
      text === undefined
        ? { ok: false as const, issues: 'issues' in read ? read.issues : [] }
        : await buildRouteTable(file, text, options.gateway);
    if (!result.ok) {
      metrics.configReloads.inc({ result: 'failure' });
      for (const issue of sortIssues(result.issues))
        log.error({ config: formatIssue(issue) }, 'routes.yaml issue');
      log.error(
        { file, trigger, result: 'failure', keeping: table.hash },
        'routes reload refused; the last good version keeps serving',
      );
      return 'failure';
    }
    publish(result.table);
    metrics.configReloads.inc({ result: 'success' });
    for (const warning of result.table.warnings)
      log.warn({ config: formatIssue(warning) }, 'routes.yaml warning');
    log.info(
      {
        file,
        trigger,
        result: 'success',
        hash: result.table.hash,
        routes: result.table.routes.length,
      },
      'routes reload',
    );
    return 'success';
  }

  /** Reloads now; a call made while a reload runs waits for it, then checks the file again. */
  function reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    if (running !== undefined) return running.then(() => reload(trigger));
    running = reloadOnce(trigger).finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    clearTimeout(debounce);
    debounce = setTimeout(() => void reload('watch'), options.debounceMs ?? 100);
    debounce.unref();
  }

  return {
    /** The route table in effect now. */
    current: (): RouteTable => table,
    reload,
    start(): void {
      try {
        watcher = watch(dirname(file), { persistent: false }, schedule);
        watcher.on('error', (error) =>
          log.warn({ file, error: error.message }, 'watching routes.yaml failed; polling only'),
        );
      } catch (error) {
        log.warn(
          { file, error: (error as Error).message },
          'cannot watch routes.yaml; polling only',
        );
      }
      const pollMs = options.pollMs ?? 5000;
      if (pollMs > 0) poller = setInterval(() => void reload('poll'), pollMs).unref();
    },
    close(): void {
      clearTimeout(debounce);
      clearInterval(poller);
      watcher?.close();
    },
  };
}

export type RoutesReloader = ReturnType<typeof createRoutesReloader>;
