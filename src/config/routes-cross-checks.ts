import { suggestClosest } from '../lib/did-you-mean.js';

/**
 * Checks that span several keys of routes.yaml: unique names and places, references to posture
 * profiles, and combinations that cannot work. They read the raw parsed YAML defensively, so
 * they run even when field-level validation failed: the admin sees every problem in one go
 * (zod skips object-level refinements while any field inside is invalid).
 */

export interface CrossCheckIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly hint?: string | undefined;
}

type Dict = Record<string, unknown>;

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The route path as the schema will normalize it (trailing slash dropped), or undefined. */
function normalizedPath(value: unknown): string | undefined {
  if (value === undefined) return '/';
  if (typeof value !== 'string') return undefined;
  return value.length > 1 && value.endsWith('/') ? value.slice(0, -1) : value;
}

function checkRoute(
  route: Dict,
  i: number,
  profiles: readonly string[],
  issues: CrossCheckIssue[],
): void {
  const at = (path: PropertyKey[], message: string, hint?: string) =>
    issues.push({ path: ['routes', i, ...path], message, hint });
  const path = normalizedPath(route.path);
  if (route.public === true && route.policy !== undefined) {
    at(
      ['policy'],
      'must not be set on a public route (public routes skip authentication, so there is no one to decide on)',
    );
  }
  if (route.public === true && route.rules !== undefined) {
    at(['rules'], 'must not be set on a public route (public routes skip authentication)');
  }
  if (route.strip_prefix === true && path === '/') {
    at(['strip_prefix'], 'must not be set when path is / (there is no prefix to strip)');
  }
  const policies: Array<[PropertyKey[], unknown]> = [[['policy'], route.policy]];
  listOf(route.rules).forEach((rule, j) => {
    if (!isDict(rule)) return;
    policies.push([['rules', j, 'policy'], rule.policy]);
    const rulePath = normalizedPath(rule.path);
    if (
      rule.path !== undefined &&
      rulePath !== undefined &&
      path !== undefined &&
      path !== '/' &&
      rulePath !== path &&
      !rulePath.startsWith(`${path}/`)
    ) {
      at(['rules', j, 'path'], `must be under the route's path ${path}, or it never matches`);
    }
  });
  for (const [policyPath, policy] of policies) {
    if (!isDict(policy)) continue;
    for (const list of ['allow', 'deny'] as const) {
      listOf(policy[list]).forEach((rule, k) => {
        if (!isDict(rule) || typeof rule.posture !== 'string' || profiles.includes(rule.posture))
          return;
        const known =
          profiles.length > 0 ? ` (known: ${profiles.join(', ')})` : ' (none are defined)';
        const guess = suggestClosest(rule.posture, profiles);
        at(
          [...policyPath, list, k, 'posture'],
          `must name a profile under posture_profiles; "${rule.posture}" is not one${known}`,
          guess && `did you mean "${guess}"?`,
        );
      });
    }
  }
}

/** Every cross-key problem of a routes.yaml, whatever state its fields are in. */
export function crossCheckRoutes(data: unknown): CrossCheckIssue[] {
  const issues: CrossCheckIssue[] = [];
  if (!isDict(data)) return issues;
  const profiles = isDict(data.posture_profiles) ? Object.keys(data.posture_profiles) : [];
  const names = new Map<string, number>();
  const places = new Map<string, number>();
  listOf(data.routes).forEach((route, i) => {
    if (!isDict(route)) return;
    if (typeof route.name === 'string') {
      const earlier = names.get(route.name);
      if (earlier !== undefined)
        issues.push({
          path: ['routes', i, 'name'],
          message: `must be unique: route #${earlier + 1} is also called "${route.name}"`,
        });
      else names.set(route.name, i);
    }
    const path = normalizedPath(route.path);
    if (typeof route.host === 'string' && path !== undefined) {
      const host = route.host.toLowerCase().replace(/\.$/, '');
      const place = `${host}${path}`;
      const same = places.get(place);
      if (same !== undefined) {
        const other = (data.routes as Dict[])[same]!.name;
        issues.push({
          path: ['routes', i, 'path'],
          message: `must be unique per host: route #${same + 1} ("${String(other)}") already serves ${place}`,
        });
      } else {
        places.set(place, i);
      }
    }
    checkRoute(route, i, profiles, issues);
  });
  return issues;
}
