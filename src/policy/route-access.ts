import { hasSegmentPrefix } from './conditions/paths.js';
import { evaluatePolicy } from './evaluate.js';
import type { TraceEntry } from './evaluate.js';
import type { Decision } from './reasons.js';
import type { CompiledPolicy, PolicyInput } from './types.js';

/** A sub-rule (`rules:` in a route): a narrower policy for some paths and/or methods. */
export interface CompiledSubRule {
  /** `rules[0]` */
  readonly label: string;
  readonly pathSegments: readonly string[] | undefined;
  readonly methods: ReadonlySet<string> | undefined;
  readonly policy: CompiledPolicy;
  /** The grant its `jit` offers to people it denies (SPEC §13). */
  readonly jit?: string | undefined;
}

/** Everything that decides access to one route, compiled. */
export interface CompiledAccess {
  /** Undefined: no policy, nobody gets in. */
  readonly policy: CompiledPolicy | undefined;
  /** Most specific first: longest path, then config order. */
  readonly subRules: readonly CompiledSubRule[];
  /** Whether the route's policy or any sub-rule looks at device posture. */
  readonly usesPosture: boolean;
  /** Whether any of them has a `grant` condition: only then are a person's grants read. */
  readonly usesGrants: boolean;
  /** The grant the route's own `jit` offers; a sub-rule's own offer comes first. */
  readonly jit?: string | undefined;
}

/** Orders sub-rules for selection: longer paths are more specific; ties keep config order. */
export function orderSubRules(subRules: readonly CompiledSubRule[]): CompiledSubRule[] {
  return subRules
    .map((rule, order) => ({ rule, order }))
    .sort(
      (a, b) =>
        (b.rule.pathSegments?.length ?? -1) - (a.rule.pathSegments?.length ?? -1) ||
        a.order - b.order,
    )
    .map(({ rule }) => rule);
}

/** Whether an allow rule of the policy tests the grant: only then can holding it let one in. */
function allowsWithGrant(policy: CompiledPolicy | undefined, grant: string | undefined): boolean {
  if (grant === undefined || policy?.usesGrants !== true) return false;
  return policy.allow.some((rule) => rule.decision.grant === grant);
}

/**
 * The policy that governs this request (SPEC §5): the most specific matching sub-rule replaces
 * the route policy; otherwise the route policy. Returns the label of what was chosen.
 */
export function selectPolicy(
  access: CompiledAccess,
  input: PolicyInput,
): { policy: CompiledPolicy | undefined; label: string; jit: string | undefined } {
  for (const sub of access.subRules) {
    if (sub.methods !== undefined && !sub.methods.has(input.request.method)) continue;
    if (
      sub.pathSegments !== undefined &&
      !hasSegmentPrefix(input.request.segments, sub.pathSegments)
    )
      continue;
    // A sub-rule's own offer first; the route's only where this policy tests its grant (asking
    // for a grant that cannot change the decision would waste an approver's and the user's time).
    const jit = sub.jit ?? (allowsWithGrant(sub.policy, access.jit) ? access.jit : undefined);
    return { policy: sub.policy, label: sub.label, jit };
  }
  const jit = allowsWithGrant(access.policy, access.jit) ? access.jit : undefined;
  return { policy: access.policy, label: 'policy', jit };
}

/**
 * Decides a request to a route: sub-rule selection, then the one evaluation function. A denial
 * under a policy that offers just-in-time access names the grant to ask for.
 */
export function decideAccess(
  access: CompiledAccess,
  input: PolicyInput,
  now: number,
  trace?: TraceEntry[],
): Decision {
  const selected = selectPolicy(access, input);
  const decision = evaluatePolicy(selected.policy, input, now, trace);
  if (decision.effect !== 'deny' || selected.jit === undefined) return decision;
  return { ...decision, jit: selected.jit };
}
