import type { PostureCheck, PostureFacts } from '../posture/facts.js';
import type { ConditionKind, Decision, StepUpRequirement } from './reasons.js';

export type { ConditionKind, StepUpRequirement } from './reasons.js';

/** Who made the request, as established by a session (OIDC) or a bearer token. */
export interface Identity {
  readonly sub: string;
  /** Lower-cased at login; undefined when the IdP sent none. */
  readonly email?: string | undefined;
  readonly emailVerified?: boolean | undefined;
  /** Undefined when the groups claim was missing or malformed: matches no `groups` condition. */
  readonly groups?: readonly string[] | undefined;
  readonly name?: string | undefined;
  /** Every claim kept from the IdP, `amr`, `acr` and `auth_time` included. */
  readonly claims: Readonly<Record<string, unknown>>;
  /**
   * Set for workload identities (bearer tokens) only, never for people. A workload belongs to
   * the service_tokens entry that vouched for it (SPEC §4.2), and never fills `email`,
   * `emailVerified` or `groups`, whatever claims its token carries.
   */
  readonly workload?: WorkloadIssuer | undefined;
}

/** Which service_tokens entry verified a workload's token. */
export interface WorkloadIssuer {
  /** The token's `iss`. */
  readonly issuer: string;
  /** The entry's `name`, what `issuers` conditions write; undefined for an unnamed entry. */
  readonly name: string | undefined;
}

/** The facts about the request that conditions may look at (canonical, never client-chosen). */
export interface RequestFacts {
  readonly method: string;
  readonly path: string;
  readonly segments: readonly string[];
  readonly ip: string;
}

/** Grant name → expiry (epoch ms) of the just-in-time grants a person holds (SPEC §13). */
export type ActiveGrants = ReadonlyMap<string, number>;

/** Everything a policy decides on. Built once per request; evaluation never does I/O. */
export interface PolicyInput {
  readonly identity: Identity | undefined;
  readonly request: RequestFacts;
  /** Undefined when no trustworthy posture evidence came with the request. */
  readonly posture?: PostureFacts | undefined;
  /** The person's grants; read only on routes whose policy has `grant` conditions. */
  readonly grants?: ActiveGrants | undefined;
}

/**
 * A condition compiled at load time: a closure over prepared sets, no parsing per request.
 * `softness` marks the conditions a person can fix without an admin: `step_up` ones by
 * signing in again, `posture` ones by fixing the device. A rule that fails only on soft
 * conditions turns the denial into a step-up or a posture reason instead of "no rule matched".
 */
export interface CompiledCondition {
  readonly kind: ConditionKind;
  /** Human text for `explain`: `groups include one of [engineering, support]`. */
  readonly description: string;
  readonly softness?: 'step_up' | 'posture';
  test(input: PolicyInput, now: number): boolean;
  /** Posture conditions only: which check fails (undefined when it passes). */
  failedCheck?(input: PolicyInput, now: number): PostureCheck | undefined;
  /** Posture conditions only: what the person must fix, in words (for the deny page). */
  failureText?(input: PolicyInput, now: number): string | undefined;
}

export interface CompiledRule {
  /** Where the rule sits, for traces and the decision's `rule`: `allow[1]`, `rules[0].allow[1]`. */
  readonly label: string;
  readonly index: number;
  readonly conditions: readonly CompiledCondition[];
  /** The decision this rule makes when it holds, prepared at compile time. */
  readonly decision: Decision;
  /** For allow rules with step-up conditions: what a new login must bring. */
  readonly stepUp: StepUpRequirement | undefined;
}

export interface CompiledPolicy {
  readonly allow: readonly CompiledRule[];
  readonly deny: readonly CompiledRule[];
  /** Whether any rule looks at device posture (posture results are only counted there). */
  readonly usesPosture: boolean;
  /** Whether any rule has a `grant` condition (the person's grants are read only then). */
  readonly usesGrants: boolean;
}
