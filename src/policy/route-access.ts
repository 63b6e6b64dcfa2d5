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
}

/** Everything that decides access to one route, compiled. */
export interface CompiledAccess {
  /** Undefined: no policy, nobody gets in. */
  readonly policy: CompiledPolicy | undefined;
  /** Most specific first: longest path, then config order. */
  readonly subRules: readonly CompiledSubRule[];
  /** Whether the route's policy or any sub-rule looks at device posture. */
  readonly usesPosture: boolean;
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

/**
 * The policy that governs this request (SPEC §5): the most specific matching sub-rule replaces
 * the route policy; otherwise the route policy. Returns the label of what was chosen.
 */
export function selectPolicy(
  access: CompiledAccess,
  input: PolicyInput,
): { policy: CompiledPolicy | undefined; label: string } {
  for (const sub of access.subRules) {
    if (sub.methods !== undefined && !sub.methods.has(input.request.method)) continue;
    if (
      sub.pathSegments !== undefined &&
      !hasSegmentPrefix(input.request.segments, sub.pathSegments)
    )
      continue;
    return { policy: sub.policy, label: sub.label };
  }
  return { policy: access.policy, label: 'policy' };
}

/** Decides a request to a route: sub-rule selection, then the one evaluation function. */
export function decideAccess(
  access: CompiledAccess,
  input: PolicyInput,
  now: number,
  trace?: TraceEntry[],
): Decision {
  return evaluatePolicy(selectPolicy(access, input).policy, input, now, trace);
}
