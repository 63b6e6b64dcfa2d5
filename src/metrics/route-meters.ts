import type { CounterCell, HistogramCell } from './direct-metrics.js';
import type { Metrics, RequestDecision } from './registry.js';

// SPEC §10: known status codes are labels of their own; any other folds into its class.
const KNOWN_CODES = new Set([
  101, 200, 201, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 409, 413, 429,
  499, 500, 502, 503, 504,
]);

/** The `code` label of a status: itself when known, else its class (`5xx`). */
export function codeLabel(status: number): string {
  return KNOWN_CODES.has(status) ? String(status) : `${Math.floor(status / 100)}xx`;
}

/**
 * One child per value of a metric's label, made on first use: `labels()` checks and joins the
 * label object on every call (DESIGN §5). Bounded by the label's values, which come from
 * closed unions.
 */
export function childPerValue<C>(make: (value: string) => C): (value: string) => C {
  const children = new Map<string, C>();
  return (value) => {
    let child = children.get(value);
    if (child === undefined) children.set(value, (child = make(value)));
    return child;
  };
}

interface RouteMeter {
  requests(decision: RequestDecision, status: number): CounterCell;
  readonly duration: HistogramCell;
  readonly upstreamDuration: HistogramCell;
}

/**
 * The per-route metric children, looked up once per route and outcome instead of joining label
 * objects on every request (DESIGN §5). Bounded: route names come from config, decisions from a
 * closed union, codes from KNOWN_CODES and six classes.
 */
export function createRouteMeters(metrics: Metrics) {
  const byRoute = new Map<string, RouteMeter>();

  function meterFor(route: string): RouteMeter {
    const counters = new Map<string, CounterCell>();
    return {
      requests(decision, status) {
        const code = codeLabel(status);
        const key = `${decision} ${code}`;
        let counter = counters.get(key);
        if (counter === undefined)
          counters.set(key, (counter = metrics.requests.labels({ route, decision, code })));
        return counter;
      },
      duration: metrics.requestDuration.labels({ route }),
      upstreamDuration: metrics.upstreamDuration.labels({ route }),
    };
  }

  return {
    of(route: string): RouteMeter {
      let meter = byRoute.get(route);
      if (meter === undefined) byRoute.set(route, (meter = meterFor(route)));
      return meter;
    },
  };
}

export type RouteMeters = ReturnType<typeof createRouteMeters>;
