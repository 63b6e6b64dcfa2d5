import type { Grant } from '../jit/grants.js';
import type { Answer } from './answer.js';
import type { Inspected } from './context.js';
import type { Identity } from '../policy/types.js';
import type { Decision } from '../policy/reasons.js';
import type { PipelineSources } from './sources.js';

/**
 * Step 4b: the person's just-in-time grants (SPEC §13), read from the store only on routes whose
 * policy tests a grant, and only for people (workloads never hold grants). Every other request
 * pays nothing for the feature, not even an await: the caller asks `readsGrants` first.
 */
export function readsGrants(context: Inspected): context is Inspected & {
  readonly identity: Identity;
} {
  return (
    context.route.access.usesGrants && context.auth === 'session' && context.identity !== undefined
  );
}

export async function readGrants(
  context: Inspected & { readonly identity: Identity },
  sources: PipelineSources,
): Promise<readonly Grant[]> {
  return sources.grantsOf(context.identity, sources.now());
}

/** The grant an allowed request used, when the rule that allowed it tests one. */
export function grantUsedBy(
  decision: Decision,
  grants: readonly Grant[] | undefined,
): Grant | undefined {
  const name = decision.grant;
  if (name === undefined || decision.effect !== 'allow') return undefined;
  let used: Grant | undefined;
  for (const grant of grants ?? [])
    if (grant.grant === name && (used === undefined || grant.expiresAt > used.expiresAt))
      used = grant;
  return used;
}

/**
 * A denial on a policy that offers just-in-time access, to a signed-in person: the deny page
 * offers to ask (SPEC §13). Bearer clients and audit-mode routes are never offered anything.
 */
export async function offerAccess(
  context: Inspected,
  answer: Answer,
  sources: PipelineSources,
): Promise<Answer> {
  if (answer.answer !== 'deny' || answer.decision.jit === undefined) return answer;
  const session = context.session;
  const offer = context.table.offers.get(answer.decision.jit);
  if (session === undefined || context.identity === undefined || offer === undefined) return answer;
  const pending = await sources.pendingRequestOf(context.identity, offer.grant);
  const returnTo = context.target.path + context.target.query;
  return { ...answer, access: { offer, csrf: session.data.csrf, pending, returnTo } };
}
