import { describePostureFailure } from '../posture/profile.js';
import type { RequestContext } from '../context.js';
import { ALLOW_PUBLIC } from '../policy/reasons.js';
import type { Decision } from '../policy/reasons.js';
import { decideAccess } from '../policy/route-access.js';
import type { PolicyInput } from '../policy/types.js';

/** A signed posture assertion for someone else: never a decision the policy can overrule. */
const USER_MISMATCH: Decision = {
  effect: 'deny',
  reason: 'deny:posture.user_mismatch',
  detail: describePostureFailure('user_mismatch', {}, undefined),
};

/**
 * Step 5 (SPEC §5): the policy decision, pure and synchronous, and what it means for this
 * request: forward (allowed, or denied in audit mode) or refuse. Sets the context's decision
 * and outcome for the audit line.
 */
export function decideRequest(
  context: RequestContext,
  method: string,
  now: number,
): 'forward' | 'refuse' {
  const route = context.route!;
  let decision: Decision;
  if (route.public) {
    decision = ALLOW_PUBLIC;
  } else if (context.deviceVerdict === 'user_mismatch') {
    decision = USER_MISMATCH;
  } else {
    const input: PolicyInput = {
      identity: context.identity,
      request: {
        method,
        path: context.target!.path,
        segments: context.target!.segments,
        ip: context.clientIp,
      },
      posture: context.posture?.facts,
    };
    decision = decideAccess(route.access, input, now);
  }
  context.decision = decision;
  if (decision.effect === 'allow') {
    context.outcome = route.public ? 'public' : 'allow';
    return 'forward';
  }
  // Audit mode: the would-be denial is logged and counted, and the request goes through.
  // This is how a company rolls out a policy without breaking anyone's work.
  if (route.mode === 'audit') {
    context.outcome = 'audit_deny';
    return 'forward';
  }
  context.outcome = 'deny';
  return 'refuse';
}

/** How long after a step-up login another step-up is refused instead of looping. */
const STEP_UP_RETRY_MS = 2 * 60_000;

/** Whether this session's login was made for a step-up moments ago. */
export function recentlySteppedUp(
  session: { steppedUpAt?: number | undefined } | undefined,
  now: number,
): boolean {
  return session?.steppedUpAt !== undefined && now - session.steppedUpAt < STEP_UP_RETRY_MS;
}
