import type { RequestContext } from '../pipeline/context.js';
import type { PostureResult } from '../metrics/registry.js';

/**
 * The posture result of a request, for the audit line, `ztna_posture_checks_total` and the
 * identity assertion: pass, fail or missing where the route's policy looks at posture; invalid
 * or untrusted_source wherever evidence was refused; undefined otherwise.
 */
export function postureResultOf(context: RequestContext): PostureResult | undefined {
  const posture = context.posture;
  if (posture === undefined) return undefined;
  if (posture.source === 'invalid' || posture.source === 'untrusted_source') return posture.source;
  if (context.route?.access.usesPosture !== true || context.decision === undefined)
    return undefined;
  if (posture.facts === undefined) return 'missing';
  return context.decision.reason.startsWith('deny:posture.') ? 'fail' : 'pass';
}
