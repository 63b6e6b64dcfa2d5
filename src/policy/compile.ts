import { compileAuthenticated } from './conditions/authenticated.js';
import { compileEmailDomains } from './conditions/email-domains.js';
import { compileEmails } from './conditions/emails.js';
import { compileGroups } from './conditions/groups.js';
import type { Decision } from './reasons.js';
import type { CompiledCondition, CompiledPolicy, CompiledRule, ConditionKind } from './types.js';

/** A rule as written in routes.yaml (validated): every present condition must hold. */
export interface RuleSpec {
  readonly authenticated?: true | undefined;
  readonly emails?: readonly string[] | undefined;
  readonly email_domains?: readonly string[] | undefined;
  readonly groups?: readonly string[] | undefined;
}

export interface PolicySpec {
  readonly allow?: readonly RuleSpec[] | undefined;
  readonly deny?: readonly RuleSpec[] | undefined;
}

type Compilers = {
  readonly [K in ConditionKind]: (value: NonNullable<RuleSpec[K]>) => CompiledCondition;
};

/** One compiler per condition key; adding a condition means adding a line here. */
const COMPILERS: Compilers = {
  authenticated: () => compileAuthenticated(),
  emails: compileEmails,
  email_domains: compileEmailDomains,
  groups: compileGroups,
};

function isConditionKind(key: string): key is ConditionKind {
  return Object.hasOwn(COMPILERS, key);
}

function compileRule(spec: RuleSpec, index: number, list: 'allow' | 'deny'): CompiledRule {
  const conditions: CompiledCondition[] = [];
  for (const [key, value] of Object.entries(spec)) {
    if (value === undefined) continue;
    if (!isConditionKind(key))
      throw new TypeError(`unknown condition "${key}" reached the compiler`);
    conditions.push((COMPILERS[key] as (v: unknown) => CompiledCondition)(value));
  }
  // Validation refuses empty rules; an empty rule here would allow everyone, so refuse loudly.
  if (conditions.length === 0)
    throw new TypeError(`empty ${list}[${index}] rule reached the compiler`);
  const label = `${list}[${index}]`;
  const decision: Decision =
    list === 'allow'
      ? { effect: 'allow', reason: `allow:rule[${index}]`, rule: label }
      : { effect: 'deny', reason: `deny:${conditions[0]!.kind}`, rule: label };
  return { label, index, conditions, decision };
}

/**
 * Compiles a validated policy into closures, once, at load time. Decisions are prepared here
 * too, so evaluation allocates nothing.
 */
export function compilePolicy(spec: PolicySpec): CompiledPolicy {
  return {
    allow: (spec.allow ?? []).map((rule, i) => compileRule(rule, i, 'allow')),
    deny: (spec.deny ?? []).map((rule, i) => compileRule(rule, i, 'deny')),
  };
}
