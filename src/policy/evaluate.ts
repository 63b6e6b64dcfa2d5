import { DENY_NO_POLICY, DENY_NO_RULE_MATCHED } from './reasons.js';
import type { Decision } from './reasons.js';
import type { CompiledCondition, CompiledPolicy, CompiledRule, PolicyInput } from './types.js';

/** One condition's outcome, recorded only when a trace is asked for (`explain`, `test`). */
export interface TraceEntry {
  readonly rule: string;
  readonly condition: string;
  readonly pass: boolean;
  /** For a failing posture condition: the check that failed. */
  readonly detail?: string;
}

/** How an allow rule fared: held, failed outright, or failed only on what the user can fix. */
type RuleOutcome = 'holds' | 'fails' | { readonly soft: readonly CompiledCondition[] };

function judgeRule(
  rule: CompiledRule,
  input: PolicyInput,
  now: number,
  trace: TraceEntry[] | undefined,
): RuleOutcome {
  let soft: CompiledCondition[] | undefined;
  let failed = false;
  for (const condition of rule.conditions) {
    const pass = condition.test(input, now);
    if (trace !== undefined) {
      const detail = pass ? undefined : condition.failedCheck?.(input, now);
      trace.push({
        rule: rule.label,
        condition: condition.description,
        pass,
        ...(detail && { detail: `posture.${detail}` }),
      });
    }
    if (pass) continue;
    if (condition.softness === undefined) {
      failed = true;
      // Without a trace nothing more is learnt from this rule: it cannot match or be a near miss.
      if (trace === undefined) return 'fails';
    } else {
      (soft ??= []).push(condition);
    }
  }
  if (failed) return 'fails';
  return soft === undefined ? 'holds' : { soft };
}

/**
 * The denial for a rule that failed only on soft conditions: a step-up when signing in again
 * would fix it, otherwise the posture check to fix (fixing the device comes first: a new login
 * does not encrypt a disk).
 */
function nearMissDecision(
  rule: CompiledRule,
  soft: readonly CompiledCondition[],
  input: PolicyInput,
  now: number,
): Decision {
  const posture = soft.find((c) => c.softness === 'posture');
  if (posture !== undefined) {
    const check = posture.failedCheck?.(input, now) ?? 'missing';
    const detail = posture.failureText?.(input, now);
    return {
      effect: 'deny',
      reason: `deny:posture.${check}`,
      rule: rule.label,
      ...(detail && { detail }),
    };
  }
  const reason = soft[0]!.kind === 'mfa' ? 'step_up:mfa' : 'step_up:auth_max_age';
  return {
    effect: 'step_up',
    reason,
    rule: rule.label,
    ...(rule.stepUp && { stepUp: rule.stepUp }),
  };
}

/**
 * The one decision function (SPEC §5), used by `serve`, `explain` and `test` alike.
 * Default deny; any matching deny rule wins over every allow rule; otherwise the first
 * matching allow rule allows. When no rule matches but one failed only on `mfa`/`auth_max_age`
 * the answer is a step-up, and when one failed on posture the reason names the failed check.
 * Pure and synchronous: `now` is a parameter, never read here.
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
    if (judgeRule(rule, input, now, trace) === 'holds') {
      decided ??= rule.decision;
      if (trace === undefined) return decided;
    }
  }
  let nearMiss: Decision | undefined;
  for (const rule of policy.allow) {
    const outcome = judgeRule(rule, input, now, trace);
    if (outcome === 'holds') {
      decided ??= rule.decision;
      if (trace === undefined) return decided;
    } else if (outcome !== 'fails' && nearMiss === undefined) {
      nearMiss = nearMissDecision(rule, outcome.soft, input, now);
    }
  }
  return decided ?? nearMiss ?? DENY_NO_RULE_MATCHED;
}
