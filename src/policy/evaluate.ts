import { DENY_NO_POLICY, DENY_NO_RULE_MATCHED } from './reasons.js';
import type { Decision } from './reasons.js';
import type { CompiledPolicy, CompiledRule, PolicyInput } from './types.js';

/** One condition's outcome, recorded only when a trace is asked for (`explain`, `test`). */
export interface TraceEntry {
  readonly rule: string;
  readonly condition: string;
  readonly pass: boolean;
}

function ruleHolds(
  rule: CompiledRule,
  input: PolicyInput,
  now: number,
  trace?: TraceEntry[],
): boolean {
  let holds = true;
  for (const condition of rule.conditions) {
    const pass = condition.test(input, now);
    if (trace === undefined) {
      if (!pass) return false;
      continue;
    }
    // With a trace, every condition is evaluated so the admin sees all of them.
    trace.push({ rule: rule.label, condition: condition.description, pass });
    holds &&= pass;
  }
  return holds;
}

/**
 * The one decision function (SPEC §5), used by `serve`, `explain` and `test` alike.
 * Default deny; any matching deny rule wins over every allow rule; otherwise the first
 * matching allow rule allows. Pure and synchronous: `now` is a parameter, never read here.
 *
 * @param policy undefined for a route without a policy: it denies everyone.
 * @param trace when given, receives every condition's outcome; the decision is the same.
 */
export function evaluatePolicy(
  policy: CompiledPolicy | undefined,
  input: PolicyInput,
  now: number,
  trace?: TraceEntry[],
): Decision {
  if (policy === undefined) return DENY_NO_POLICY;
  let decided: Decision | undefined;
  for (const rule of policy.deny) {
    if (ruleHolds(rule, input, now, trace) && decided === undefined) {
      decided = rule.decision;
      if (trace === undefined) return decided;
    }
  }
  for (const rule of policy.allow) {
    if (ruleHolds(rule, input, now, trace) && decided === undefined) {
      decided = rule.decision;
      if (trace === undefined) return decided;
    }
  }
  return decided ?? DENY_NO_RULE_MATCHED;
}
