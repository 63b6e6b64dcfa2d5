import type { Decision } from './reasons.js';

/** Who made the request, as established by a session (OIDC) or, later, a bearer token. */
export interface Identity {
  readonly sub: string;
  /** Lower-cased at login; undefined when the IdP sent none. */
  readonly email?: string | undefined;
  readonly emailVerified?: boolean | undefined;
  /** Undefined when the groups claim was missing or malformed: matches no `groups` condition. */
  readonly groups?: readonly string[] | undefined;
  readonly name?: string | undefined;
  readonly claims: Readonly<Record<string, unknown>>;
}

/** The facts about the request that conditions may look at (canonical, never client-chosen). */
export interface RequestFacts {
  readonly method: string;
  readonly path: string;
  readonly segments: readonly string[];
  readonly ip: string;
}

/** Everything a policy decides on. Built once per request; evaluation never does I/O. */
export interface PolicyInput {
  readonly identity: Identity | undefined;
  readonly request: RequestFacts;
}

/** A condition compiled at load time: a closure over prepared sets, no parsing per request. */
export interface CompiledCondition {
  readonly kind: ConditionKind;
  /** Human text for `explain`: `groups in [engineering, support]`. */
  readonly description: string;
  test(input: PolicyInput, now: number): boolean;
}

export type ConditionKind = 'authenticated' | 'emails' | 'email_domains' | 'groups';

export interface CompiledRule {
  /** Where the rule sits, for traces and the decision's `rule`: `allow[1]`. */
  readonly label: string;
  readonly index: number;
  readonly conditions: readonly CompiledCondition[];
  /** The decision this rule makes when it holds, prepared at compile time. */
  readonly decision: Decision;
}

export interface CompiledPolicy {
  readonly allow: readonly CompiledRule[];
  readonly deny: readonly CompiledRule[];
}
