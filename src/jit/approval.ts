import type { Decision } from '../policy/reasons.js';
import type { Identity, PolicyInput } from '../policy/types.js';
import { compileAuthMaxAge } from '../policy/conditions/auth-max-age.js';
import { compileMfa } from '../policy/conditions/mfa.js';
import { granteeName, granteeOf } from './grants.js';
import type { AccessRequest } from './grants.js';
import { isApprover } from './offer.js';
import type { JitOffer } from './offer.js';

/**
 * The rules of deciding a request (SPEC §13), apart from the pages that apply them: who may
 * decide which request, with what sign-in, and what counts as one's own request.
 */

/**
 * How recent an approver's sign-in with a second factor must be to decide. A decision is the
 * one act here a script in an upstream app (same origin as /.ztna/access) would want to forge:
 * a fresh second factor narrows that to minutes after the approver proved themselves.
 */
export const APPROVER_MFA_MAX_AGE_MS = 10 * 60_000;

/** What an approver without a recent second factor must bring: a new sign-in with MFA. */
export const APPROVER_STEP_UP: Decision = {
  effect: 'step_up',
  reason: 'step_up:mfa',
  stepUp: { mfa: true, maxAgeMs: APPROVER_MFA_MAX_AGE_MS },
};

/**
 * A check of a sign-in with a second factor (`amr`/`acr`) at most APPROVER_MFA_MAX_AGE_MS old
 * (`auth_time`): the route conditions `mfa` and `auth_max_age`, compiled once.
 */
export function createFreshMfaCheck(mfaAcrValues: readonly string[]) {
  const mfa = compileMfa(mfaAcrValues);
  const recentSignIn = compileAuthMaxAge(APPROVER_MFA_MAX_AGE_MS);
  return (input: PolicyInput, now: number): boolean =>
    mfa.test(input, now) && recentSignIn.test(input, now);
}

/**
 * Whether a request for this offer may be decided on this host: the host of the route that
 * offers the grant, and no other. Every route host serves /.ztna/access, on the origin of that
 * route's app, whose scripts can read the page and, after any click of the approver's, send
 * exactly what a clicked Approve button sends (and even start the step-up that makes the
 * approver's second factor fresh). An app may only ever decide access to itself that way.
 */
export function decidedHere(offer: JitOffer, here: { readonly host: string } | undefined): boolean {
  return here !== undefined && here.host === offer.host;
}

/**
 * Where to decide a request for this offer, for a link: the offer's host on this scheme and
 * port; undefined for a wildcard route (no one host to name).
 */
export function decisionUrl(
  offer: JitOffer,
  scheme: string,
  authority: string,
): string | undefined {
  if (offer.host.startsWith('*.')) return undefined;
  const port = /:\d+$/.exec(authority)?.[0] ?? '';
  return `${scheme}://${offer.host}${port}/.ztna/access`;
}

/** The offer of the request's grant when the person is among its approvers, as the table says now. */
export function approvingOffer(
  offers: ReadonlyMap<string, JitOffer>,
  identity: Identity,
  request: AccessRequest,
): JitOffer | undefined {
  const offer = offers.get(request.grant);
  return offer !== undefined && isApprover(offer, identity) ? offer : undefined;
}

/** A person's email as the IdP gave it, lower-cased, whether it is verified or not. */
export function rawEmailOf(identity: Identity): string | undefined {
  return identity.email?.toLowerCase();
}

/**
 * Whether a request is the person's own, for refusing self-approval: the same sub, or the same
 * email on either side, even one the IdP has not verified (refusing there is the safe side).
 * The request's grantee holds verified emails only, so the requester's raw email is compared
 * too: an approver's second account with an unverified copy of their email is still theirs.
 */
export function isOwnRequest(request: AccessRequest, identity: Identity): boolean {
  if (request.user.sub === identity.sub) return true;
  const email = rawEmailOf(identity);
  return email !== undefined && (request.user.email === email || request.requesterEmail === email);
}

/** Who an approver is, in the grant and the audit line: their verified email, else their sub. */
export function approverName(identity: Identity): string {
  return granteeName(granteeOf(identity) ?? { sub: identity.sub });
}
