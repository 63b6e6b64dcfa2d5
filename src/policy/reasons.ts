import type { ConditionKind } from './types.js';

/**
 * Every reason a decision can carry. A closed set of string shapes: rule indexes and condition
 * kinds come from the config, so metric label values stay bounded.
 */
export type Reason =
  | 'allow:public'
  | `allow:rule[${number}]`
  | 'deny:no_policy'
  | 'deny:no_rule_matched'
  | `deny:${ConditionKind}`;

export type Effect = 'allow' | 'deny';

/** A policy decision: a value, never an exception (DESIGN §1). */
export interface Decision {
  readonly effect: Effect;
  readonly reason: Reason;
  /** The rule that decided, e.g. `allow[1]` or `deny[0]`; absent for defaults. */
  readonly rule?: string;
}

export const ALLOW_PUBLIC: Decision = { effect: 'allow', reason: 'allow:public' };
export const DENY_NO_POLICY: Decision = { effect: 'deny', reason: 'deny:no_policy' };
export const DENY_NO_RULE_MATCHED: Decision = { effect: 'deny', reason: 'deny:no_rule_matched' };
