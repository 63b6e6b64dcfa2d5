import type { Decision } from '../policy/reasons.js';
import type { Identity } from '../policy/types.js';
import type { AccessOffer } from '../jit/offer.js';
import { accessOfferHtml, accessOfferJson } from './access-offer.js';
import { html } from './render.js';
import type { Page } from './render.js';

/**
 * What the person should know about a denial: enough to act on, nothing that maps the policy
 * for an attacker (no rule contents, no group names).
 */
export function explainDenial(decision: Decision): string {
  // Posture failures carry their own words: what the device lacks and what is required.
  if (decision.detail !== undefined) return decision.detail;
  switch (decision.reason) {
    case 'deny:no_policy':
      return 'This application is not open to anyone yet. Its administrators need to grant access.';
    case 'deny:no_rule_matched':
      return 'Your account is not among those allowed to use this application. Ask its owners for access if you need it.';
    case 'step_up:mfa':
      return 'This part of the application needs a sign-in with a second factor, and your last sign-in did not include one. Make sure a second factor is set up for your account, then sign in again.';
    case 'step_up:auth_max_age':
      return 'This part of the application needs a recent sign-in, and your last one is too old. Sign in again.';
    default:
      return decision.reason.startsWith('deny:posture.')
        ? 'This device does not meet the requirements of this application.'
        : 'A rule of this application blocks your access.';
  }
}

/**
 * 403 page (or JSON) for a policy denial. With `access`, the policy offers just-in-time access:
 * the page offers to ask for it, or says the person's request is waiting (SPEC §13).
 */
export function denyPage(
  decision: Decision,
  routeName: string,
  identity: Identity | undefined,
  access?: AccessOffer,
): Page {
  const who = identity?.email ?? identity?.sub;
  return {
    status: 403,
    title: 'Access denied',
    body: html`<h1>Access denied</h1>
      <p>${explainDenial(decision)}</p>
      ${who === undefined ? '' : html`<p>You are signed in as <strong>${who}</strong>. <a href="/.ztna/logout">Sign in as someone else</a></p>`}
      ${access === undefined ? '' : accessOfferHtml(access)}
      <p class="meta">Reason: <span class="mono">${decision.reason}</span></p>`,
    json: {
      error: 'ZTNA_ERR_POLICY_DENIED',
      reason: decision.reason,
      route: routeName,
      ...(access !== undefined && { jit: accessOfferJson(access) }),
    },
  };
}
