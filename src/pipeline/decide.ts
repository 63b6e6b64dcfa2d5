import { describePostureFailure } from '../posture/profile.js';
import { ALLOW_PUBLIC } from '../policy/reasons.js';
import type { Decision } from '../policy/reasons.js';
import { decideAccess } from '../policy/route-access.js';
import type { PolicyInput } from '../policy/types.js';
import type { Answer } from './answer.js';
import { loginUrlFor } from './authenticate.js';
import type { Granted } from './context.js';
import { activeGrantsOf } from '../jit/grants.js';
import type { Grant } from '../jit/grants.js';
import { grantUsedBy } from './grants.js';
import type { PipelineSources } from './sources.js';

/** A signed posture assertion for someone else: never a decision the policy can overrule. */
const USER_MISMATCH: Decision = {
  effect: 'deny',
  reason: 'deny:posture.user_mismatch',
  detail: describePostureFailure('user_mismatch', {}, undefined),
};

/** How long after a step-up login another step-up is refused instead of looping. */
const STEP_UP_RETRY_MS = 2 * 60_000;

/** Whether this session's login was made for a step-up moments ago. */
export function recentlySteppedUp(
  session: { steppedUpAt?: number | undefined } | undefined,
  now: number,
): boolean {
  return session?.steppedUpAt !== undefined && now - session.steppedUpAt < STEP_UP_RETRY_MS;
}

/** The policy decision (SPEC §5): pure and synchronous; `trace` collects conditions for explain. */
export function decisionFor(context: Granted, now: number): Decision {
  const route = context.route;
  if (route.public) return ALLOW_PUBLIC;
  if (context.deviceVerdict === 'user_mismatch') return USER_MISMATCH;
  const input: PolicyInput = {
    identity: context.identity,
    request: {
      method: context.method,
      path: context.target.path,
      segments: context.target.segments,
      ip: context.clientIp,
    },
    posture: context.posture?.facts,
    grants: context.grants && activeGrantsOf(context.grants, now),
  };
  return decideAccess(route.access, input, now, context.trace);
}

/**
 * Step 5: the decision and what it means for this request. Allowed requests go on, and so do
 * denied ones in audit mode (logged as `audit_deny`: how a company rolls out a policy without
 * breaking anyone's work). A step-up sends the user back to the IdP, once: when the login just
 * made for it still does not satisfy the rule, the deny page says what is missing instead.
 */
export function decide(
  context: Granted,
  sources: PipelineSources,
): { readonly decision: Decision; readonly usedGrant: Grant | undefined } | Answer {
  const now = sources.now();
  const decision = decisionFor(context, now);
  if (decision.effect === 'allow') {
    const usedGrant = grantUsedBy(decision, context.grants);
    if (usedGrant !== undefined) sources.grantUsed(usedGrant, context.requestId);
    return { decision, usedGrant };
  }
  if (context.route.mode === 'audit') return { decision, usedGrant: undefined };
  if (decision.effect === 'step_up' && !recentlySteppedUp(context.session?.data, now)) {
    sources.observe.authEvent('step_up');
    return { answer: 'step_up', decision, loginUrl: loginUrlFor(context, decision) };
  }
  return { answer: 'deny', decision, routeName: context.route.name };
}
