import type { PostureProfileSpec } from '../posture/profile.js';
import { compileAuthMaxAge } from './conditions/auth-max-age.js';
import { compileAuthenticated } from './conditions/authenticated.js';
import { compileClaims } from './conditions/claims.js';
import type { ClaimValue } from './conditions/claims.js';
import { compileEmailDomains } from './conditions/email-domains.js';
import { compileEmails } from './conditions/emails.js';
import { compileGrant } from './conditions/grant.js';
import { compileGroups } from './conditions/groups.js';
import { compileIp } from './conditions/ip.js';
import { compileIssuers } from './conditions/issuers.js';
import { compileMethods } from './conditions/methods.js';
import { compileMfa } from './conditions/mfa.js';
import { compilePaths } from './conditions/paths.js';
import { compilePosture } from './conditions/posture.js';
import { compileSubjects } from './conditions/subjects.js';
import { compileTime } from './conditions/time.js';
import type { TimeSpec } from './conditions/time.js';
import type { Decision } from './reasons.js';
import type {
  CompiledCondition,
  CompiledPolicy,
  CompiledRule,
  ConditionKind,
  StepUpRequirement,
} from './types.js';

/** A rule as written in routes.yaml (validated): every present condition must hold. */
export interface RuleSpec {
  readonly authenticated?: true | undefined;
  readonly emails?: readonly string[] | undefined;
  readonly email_domains?: readonly string[] | undefined;
  readonly groups?: readonly string[] | undefined;
  readonly subjects?: readonly string[] | undefined;
  /** service_tokens names: the workload's token came from one of them. */
  readonly issuers?: readonly string[] | undefined;
  readonly claims?: Readonly<Record<string, ClaimValue | readonly ClaimValue[]>> | undefined;
  /** A just-in-time grant's name (SPEC §13). */
  readonly grant?: string | undefined;
  readonly mfa?: true | undefined;
  /** Milliseconds. */
  readonly auth_max_age?: number | undefined;
  readonly posture?: string | PostureProfileSpec | undefined;
  readonly ip?: readonly string[] | undefined;
  readonly methods?: readonly string[] | undefined;
  readonly paths?: readonly string[] | undefined;
  readonly time?: TimeSpec | undefined;
}

export interface PolicySpec {
  readonly allow?: readonly RuleSpec[] | undefined;
  readonly deny?: readonly RuleSpec[] | undefined;
}

/** What compiling needs besides the policy: named posture profiles and IdP knowledge. */
export interface CompileContext {
  readonly postureProfiles: ReadonlyMap<string, PostureProfileSpec>;
  /** The IdP's `acr` values that mean multi-factor (gateway.yaml `idp.mfa_acr_values`). */
  readonly mfaAcrValues: readonly string[];
  /** Canonical path → segment names (routing's canonicalizer; injected to keep policy pure). */
  readonly segmentsOf: (path: string) => readonly string[];
}

type Compilers = {
  readonly [K in ConditionKind]: (
    value: NonNullable<RuleSpec[K]>,
    context: CompileContext,
    list: 'allow' | 'deny',
  ) => CompiledCondition;
};

/** One compiler per condition key; adding a condition means adding a line here. */
const COMPILERS: Compilers = {
  authenticated: () => compileAuthenticated(),
  emails: (v) => compileEmails(v),
  email_domains: (v) => compileEmailDomains(v),
  groups: (v) => compileGroups(v),
  subjects: (v) => compileSubjects(v),
  issuers: (v) => compileIssuers(v),
  claims: (v) => compileClaims(v),
  grant: (v) => compileGrant(v),
  mfa: (_v, context) => compileMfa(context.mfaAcrValues),
  auth_max_age: (v) => compileAuthMaxAge(v),
  posture: (v, context) => {
    if (typeof v !== 'string') return compilePosture(undefined, v);
    const profile = context.postureProfiles.get(v);
    if (profile === undefined) throw new TypeError(`unvalidated posture profile "${v}"`);
    return compilePosture(v, profile);
  },
  // The list matters to `ip` alone: an unknown client address fails closed either way.
  ip: (v, _context, list) => compileIp(v, list),
  methods: (v) => compileMethods(v),
  paths: (v, context) => compilePaths(v, context.segmentsOf),
  time: (v) => compileTime(v),
};

function isConditionKind(key: string): key is ConditionKind {
  return Object.hasOwn(COMPILERS, key);
}

function stepUpOf(spec: RuleSpec): StepUpRequirement | undefined {
  if (spec.mfa === undefined && spec.auth_max_age === undefined) return undefined;
  return { mfa: spec.mfa === true, maxAgeMs: spec.auth_max_age };
}

function compileRule(
  spec: RuleSpec,
  index: number,
  list: 'allow' | 'deny',
  prefix: string,
  context: CompileContext,
): CompiledRule {
  const conditions: CompiledCondition[] = [];
  for (const [key, value] of Object.entries(spec)) {
    if (value === undefined) continue;
    if (!isConditionKind(key))
      throw new TypeError(`unknown condition "${key}" reached the compiler`);
    conditions.push(
      (COMPILERS[key] as (v: unknown, c: CompileContext, l: 'allow' | 'deny') => CompiledCondition)(
        value,
        context,
        list,
      ),
    );
  }
  // Validation refuses empty rules; an empty rule here would allow everyone, so refuse loudly.
  if (conditions.length === 0)
    throw new TypeError(`empty ${list}[${index}] rule reached the compiler`);
  const label = `${prefix}${list}[${index}]`;
  const decision: Decision =
    list === 'allow'
      ? {
          effect: 'allow',
          reason: `allow:rule[${index}]`,
          rule: label,
          ...(spec.grant !== undefined && { grant: spec.grant }),
        }
      : { effect: 'deny', reason: `deny:${conditions[0]!.kind}`, rule: label };
  return {
    label,
    index,
    conditions,
    decision,
    stepUp: list === 'allow' ? stepUpOf(spec) : undefined,
  };
}

/**
 * Compiles a validated policy into closures, once, at load time. Allow and deny decisions are
 * prepared here too, so evaluating an allowed request allocates nothing.
 *
 * @param prefix label prefix for sub-rules: `rules[0].`
 */
export function compilePolicy(
  spec: PolicySpec,
  context: CompileContext,
  prefix = '',
): CompiledPolicy {
  const allow = (spec.allow ?? []).map((rule, i) => compileRule(rule, i, 'allow', prefix, context));
  const deny = (spec.deny ?? []).map((rule, i) => compileRule(rule, i, 'deny', prefix, context));
  const uses = (kind: ConditionKind) =>
    [...allow, ...deny].some((rule) => rule.conditions.some((c) => c.kind === kind));
  return { allow, deny, usesPosture: uses('posture'), usesGrants: uses('grant') };
}
