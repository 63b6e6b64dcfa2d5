/** What the index needs to know of a route: its host pattern and its path prefix as segments. */
export interface Routable {
  /** `wiki.corp.example` or `*.corp.example`, lower-case. */
  readonly host: string;
  /** Canonical path prefix split into segment names; `[]` is `/`. */
  readonly pathSegments: readonly string[];
}

interface PathNode<T> {
  readonly children: Map<string, PathNode<T>>;
  value: T | undefined;
}

/** Finds the route for a canonical host and path in O(host labels + path segments). */
export interface RouteIndex<T> {
  /** The route with the most specific host and, within it, the longest path prefix. */
  match(host: string, segments: readonly string[]): T | undefined;
  /** Whether some route serves this host (exactly or through a wildcard). */
  hasHost(host: string): boolean;
}

function newNode<T>(): PathNode<T> {
  return { children: new Map(), value: undefined };
}

/**
 * Builds the route index. Host selection works like virtual hosts: an exact host beats any
 * wildcard, a longer wildcard suffix beats a shorter one, and once a host entry is chosen only
 * its paths are considered (no fall-through to a wildcard on a path miss, so which policy
 * applies never depends on which other routes exist).
 *
 * Path prefixes match whole segments: `/app` matches `/app` and `/app/x`, never `/application`.
 *
 * @throws TypeError when two routes claim the same host and path (config validation prevents it).
 */
export function createRouteIndex<T extends Routable>(routes: readonly T[]): RouteIndex<T> {
  const exact = new Map<string, PathNode<T>>();
  // Keyed by the suffix including its leading dot: `*.corp.example` → `.corp.example`.
  const wildcard = new Map<string, PathNode<T>>();

  for (const route of routes) {
    const table = route.host.startsWith('*.') ? wildcard : exact;
    const key = route.host.startsWith('*.') ? route.host.slice(1) : route.host;
    let node: PathNode<T> | undefined = table.get(key);
    if (node === undefined) {
      node = newNode<T>();
      table.set(key, node);
    }
    for (const segment of route.pathSegments) {
      let child: PathNode<T> | undefined = node.children.get(segment);
      if (child === undefined) {
        child = newNode<T>();
        node.children.set(segment, child);
      }
      node = child;
    }
    if (node.value !== undefined) {
      throw new TypeError(`two routes for ${route.host} /${route.pathSegments.join('/')}`);
    }
    node.value = route;
  }

  function rootFor(host: string): PathNode<T> | undefined {
    const direct = exact.get(host);
    if (direct !== undefined) return direct;
    if (wildcard.size === 0) return undefined;
    // Longest suffix first: for a.b.corp.example try .b.corp.example, then .corp.example, ...
    for (let dot = host.indexOf('.'); dot > 0; dot = host.indexOf('.', dot + 1)) {
      const node = wildcard.get(host.slice(dot));
      if (node !== undefined) return node;
    }
    return undefined;
  }

  return {
    match(host, segments) {
      let node = rootFor(host);
      if (node === undefined) return undefined;
      let best = node.value;
      for (const segment of segments) {
        node = node.children.get(segment);
        if (node === undefined) break;
        if (node.value !== undefined) best = node.value;
      }
      return best;
    },
    hasHost(host) {
      return rootFor(host) !== undefined;
    },
  };
}
