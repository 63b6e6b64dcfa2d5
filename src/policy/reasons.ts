import type { PostureCheck } from '../posture/facts.js';

export type ConditionKind =
  | 'authenticated'
  | 'emails'
  | 'email_domains'
  | 'groups'
  | 'subjects'
  | 'issuers'
  | 'grant'
  | 'claims'
  | 'mfa'
  | 'auth_max_age'
  | 'posture'
  | 'ip'
  | 'methods'
  | 'paths'
  | 'time';

/** What re-authentication must achieve to satisfy a rule's step-up conditions. */
export interface StepUpRequirement {
  readonly mfa: boolean;
  /** The strictest `auth_max_age` of the rule, in ms. */
  readonly maxAgeMs: number | undefined;
}

/**
 * Every reason a decision can carry. A closed set of string shapes: rule indexes, condition
 * kinds and posture checks are bounded by the config and the code, so metric label values are
 * too. The last five only come from `explain`/`test`, which simulate the whole pipeline.
 */
export type Reason =
  | 'allow:public'
  | `allow:rule[${number}]`
  | 'deny:no_policy'
  | 'deny:no_rule_matched'
  | `deny:${ConditionKind}`
  | `deny:posture.${PostureCheck}`
  | 'step_up:mfa'
  | 'step_up:auth_max_age'
  | 'deny:unauthenticated'
  | 'deny:device_missing'
  | 'deny:device_changed'
  | 'deny:no_route'
  | 'deny:bad_request';

export type Effect = 'allow' | 'deny' | 'step_up';

/** A policy decision: a value, never an exception (DESIGN §1). */
export interface Decision {
  readonly effect: Effect;
  readonly reason: Reason;
  /** The rule that decided, e.g. `allow[1]` or `rules[0].deny[0]`; absent for defaults. */
  readonly rule?: string;
  /** With `step_up`: what the new login must bring. */
  readonly stepUp?: StepUpRequirement;
  /** For people, not machines: what to fix (`macOS 14.4 or newer is required`). */
  readonly detail?: string;
  /** An allow decision made by a rule with a `grant` condition: the grant it used. */
  readonly grant?: string;
  /** A denial where the governing policy offers just-in-time access: the grant to ask for. */
  readonly jit?: string;
}

export const ALLOW_PUBLIC: Decision = { effect: 'allow', reason: 'allow:public' };
export const DENY_NO_POLICY: Decision = { effect: 'deny', reason: 'deny:no_policy' };
export const DENY_NO_RULE_MATCHED: Decision = { effect: 'deny', reason: 'deny:no_rule_matched' };
