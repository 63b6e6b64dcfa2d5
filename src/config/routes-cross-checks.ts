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

/**
 * What routes.yaml is checked against in gateway.yaml: the `name` of each service_tokens entry
 * (undefined for an unnamed one). Undefined when gateway.yaml is not known (`explain`/`test`
 * without `--config`): issuer references are then not checked.
 */
export type ServiceTokenNames = readonly (string | undefined)[];

/** What the checks of one rule need to know beyond the rule. */
interface RuleScope {
  readonly profiles: readonly string[];
  readonly serviceTokens: ServiceTokenNames | undefined;
  /** Whether the route takes bearer tokens (its `auth`, or the defaults'). */
  readonly takesBearer: boolean;
  /** Whether people sign in to it (`session` in its `auth`): only they ever hold grants. */
  readonly takesSession: boolean;
  /** Every grant name a `jit` of the file declares. */
  readonly grants: readonly string[];
}

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

/** `posture: NAME` must name a profile. */
function checkPostureReference(
  rule: Dict,
  scope: RuleScope,
  at: (path: PropertyKey[], message: string, hint?: string) => void,
): void {
  const profiles = scope.profiles;
  if (typeof rule.posture !== 'string' || profiles.includes(rule.posture)) return;
  const known = profiles.length > 0 ? ` (known: ${profiles.join(', ')})` : ' (none are defined)';
  const guess = suggestClosest(rule.posture, profiles);
  at(
    ['posture'],
    `must name a profile under posture_profiles; "${rule.posture}" is not one${known}`,
    guess && `did you mean "${guess}"?`,
  );
}

/**
 * SPEC §4.2: `issuers` names service_tokens entries; and with several entries, a rule of a
 * bearer route that looks at `subjects` or `claims` must say whose tokens it means, or a dev
 * cluster's token naming a prod service account would pass a rule written for prod. Rules of
 * session-only routes are exempt: no workload reaches them, and people carry no issuer.
 */
function checkIssuerReferences(
  rule: Dict,
  scope: RuleScope,
  at: (path: PropertyKey[], message: string, hint?: string) => void,
): void {
  const entries = scope.serviceTokens;
  if (entries === undefined) return;
  const names = entries.filter((n): n is string => n !== undefined);
  listOf(rule.issuers).forEach((name, k) => {
    if (typeof name !== 'string' || names.includes(name)) return;
    const known =
      names.length > 0 ? ` (known: ${names.join(', ')})` : ' (no service_tokens entry has a name)';
    const guess = suggestClosest(name, names);
    at(
      ['issuers', k],
      `must name a service_tokens entry of gateway.yaml; "${name}" is not one${known}`,
      guess ? `did you mean "${guess}"?` : 'name the entry in gateway.yaml: name: k8s-prod',
    );
  });
  if (entries.length < 2 || !scope.takesBearer || rule.issuers !== undefined) return;
  const key = rule.subjects !== undefined ? 'subjects' : rule.claims !== undefined ? 'claims' : '';
  if (key === '') return;
  at(
    [key],
    `needs issuers next to it: with several service_tokens entries (${names.join(', ')}), a rule on ${key} must say whose tokens it means`,
    `issuers: [${names[0] ?? 'k8s-prod'}]`,
  );
}

/** `grant: NAME` must name a grant some `jit` declares, or no one could ever obtain it. */
function checkGrantReference(
  rule: Dict,
  scope: RuleScope,
  at: (path: PropertyKey[], message: string, hint?: string) => void,
): void {
  if (typeof rule.grant !== 'string') return;
  if (!scope.takesSession) {
    at(
      ['grant'],
      'can never hold on a route without session sign-in: grants are given to people, and workloads never hold one',
      'auth: [session]',
    );
    return;
  }
  if (scope.grants.includes(rule.grant)) return;
  const known =
    scope.grants.length > 0 ? ` (declared: ${scope.grants.join(', ')})` : ' (none are declared)';
  const guess = suggestClosest(rule.grant, scope.grants);
  at(
    ['grant'],
    `must name a grant that a jit declares; "${rule.grant}" is not one${known}, so no one could ever hold it`,
    guess
      ? `did you mean "${guess}"?`
      : `declare it: jit: { grant: ${rule.grant}, max_duration: 4h, approvers: { groups: [owners] } }`,
  );
}

/** The grant names the `grant` conditions of a policy test. */
function grantsTestedBy(policy: unknown): string[] {
  if (!isDict(policy)) return [];
  return [...listOf(policy.allow), ...listOf(policy.deny)].flatMap((rule) =>
    isDict(rule) && typeof rule.grant === 'string' ? [rule.grant] : [],
  );
}

/**
 * A `jit` block: its approvers must be able to match someone, and its grant must change the
 * decision of the policy it sits on (the route's: any of its policies; a sub-rule's: its own).
 */
function checkJit(
  jit: unknown,
  tested: readonly string[],
  at: (path: PropertyKey[], message: string, hint?: string) => void,
): void {
  if (!isDict(jit)) return;
  if (typeof jit.grant === 'string' && !tested.includes(jit.grant))
    at(
      ['grant'],
      `must be tested by a rule of the policy it offers access to: no rule there has grant: ${jit.grant}, so an approval would change nothing`,
      `allow: [{ grant: ${jit.grant} }]`,
    );
  const approvers = isDict(jit.approvers) ? jit.approvers : {};
  listOf(approvers.groups).forEach((group, k) => {
    // Sign-in refuses group names with a comma (they would make X-Forwarded-Groups ambiguous).
    if (typeof group === 'string' && group.includes(','))
      at(
        ['approvers', 'groups', k],
        `can never match: a group name with "," is refused at sign-in, so no one is ever in "${group}"`,
      );
  });
  listOf(approvers.emails).forEach((email, k) => {
    if (typeof email === 'string' && !/^[^@\s]+@[^@\s]+$/.test(email))
      at(
        ['approvers', 'emails', k],
        `can never match: "${email}" is not an email address`,
        'emails: [alice@corp.example]',
      );
  });
}

function checkRoute(
  route: Dict,
  i: number,
  context: {
    profiles: readonly string[];
    serviceTokens: ServiceTokenNames | undefined;
    defaultAuth: unknown;
    grants: readonly string[];
  },
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
  const auth = listOf(route.auth ?? context.defaultAuth);
  const scope: RuleScope = {
    profiles: context.profiles,
    serviceTokens: context.serviceTokens,
    takesBearer: auth.includes('bearer'),
    takesSession: auth.includes('session'),
    grants: context.grants,
  };
  const jits: Array<[PropertyKey[], unknown, string[]]> = [
    [['jit'], route.jit, policies.flatMap(([, policy]) => grantsTestedBy(policy))],
    ...listOf(route.rules).map((rule, j): [PropertyKey[], unknown, string[]] => [
      ['rules', j, 'jit'],
      isDict(rule) ? rule.jit : undefined,
      isDict(rule) ? grantsTestedBy(rule.policy) : [],
    ]),
  ];
  for (const [jitPath, jit, tested] of jits) {
    if (jit === undefined) continue;
    // Where a jit can never be offered, that is the one thing to say about it.
    if (route.public === true) {
      at(jitPath, 'must not be set on a public route (no one is ever denied there)');
      continue;
    }
    if (!auth.includes('session')) {
      at(
        jitPath,
        'must not be set on a route without session sign-in: only people ask for access, and workloads never hold grants',
      );
      continue;
    }
    checkJit(jit, tested, (path, message, hint) => at([...jitPath, ...path], message, hint));
  }
  for (const [policyPath, policy] of policies) {
    if (!isDict(policy)) continue;
    for (const list of ['allow', 'deny'] as const) {
      listOf(policy[list]).forEach((rule, k) => {
        if (!isDict(rule)) return;
        const atRule = (path: PropertyKey[], message: string, hint?: string) =>
          at([...policyPath, list, k, ...path], message, hint);
        checkPostureReference(rule, scope, atRule);
        checkIssuerReferences(rule, scope, atRule);
        checkGrantReference(rule, scope, atRule);
      });
    }
  }
}

/** The grant names `jit` blocks declare; a name declared twice is an issue (which one wins?). */
function declaredGrants(data: Dict, issues: CrossCheckIssue[]): string[] {
  const declared = new Map<string, string>();
  listOf(data.routes).forEach((route, i) => {
    if (!isDict(route)) return;
    const places: Array<[PropertyKey[], unknown]> = [
      [['routes', i, 'jit'], route.jit],
      ...listOf(route.rules).map((rule, j): [PropertyKey[], unknown] => [
        ['routes', i, 'rules', j, 'jit'],
        isDict(rule) ? rule.jit : undefined,
      ]),
    ];
    for (const [path, jit] of places) {
      if (!isDict(jit) || typeof jit.grant !== 'string') continue;
      const where = `the ${path.length > 3 ? `rules[${String(path[3])}].jit` : 'jit'} of route "${String(route.name)}"`;
      const earlier = declared.get(jit.grant);
      if (earlier !== undefined)
        issues.push({
          path: [...path, 'grant'],
          message: `must be declared once: ${earlier} already declares grant "${jit.grant}" (one grant has one set of approvers and one time limit)`,
          hint: `remove this jit and let the rules here test grant: ${jit.grant}, or name a grant of its own`,
        });
      else declared.set(jit.grant, where);
    }
  });
  return [...declared.keys()];
}

/**
 * Every cross-key problem of a routes.yaml, whatever state its fields are in, including its
 * references to gateway.yaml's service_tokens when those are known.
 */
export function crossCheckRoutes(
  data: unknown,
  serviceTokens?: ServiceTokenNames,
): CrossCheckIssue[] {
  const issues: CrossCheckIssue[] = [];
  if (!isDict(data)) return issues;
  const profiles = isDict(data.posture_profiles) ? Object.keys(data.posture_profiles) : [];
  const defaultAuth = isDict(data.defaults) ? (data.defaults.auth ?? ['session']) : ['session'];
  const grants = declaredGrants(data, issues);
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
    checkRoute(route, i, { profiles, serviceTokens, defaultAuth, grants }, issues);
  });
  return issues;
}
