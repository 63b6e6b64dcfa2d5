import { denyPage } from '../pages/deny.js';
import { errorPage } from '../pages/error.js';
import type { Page } from '../pages/render.js';
import type { Answer } from './answer.js';
import type { RequestContext } from './context.js';

/** What an answer shows: the same page (and JSON) whichever transport delivers it. */
export function pageFor(answer: Answer, context: RequestContext): Page {
  switch (answer.answer) {
    case 'page':
    case 'refuse':
      return errorPage(answer.code);
    case 'deny':
      return denyPage(answer.decision, answer.routeName, context.identity, answer.access);
    case 'step_up': {
      const page = errorPage('ZTNA_ERR_STEP_UP_REQUIRED');
      return {
        ...page,
        json: { ...page.json, login_url: answer.loginUrl, reason: answer.decision.reason },
      };
    }
    case 'challenge': {
      if (answer.credential === 'session') {
        const page = errorPage('ZTNA_ERR_AUTH_REQUIRED');
        return { ...page, json: { ...page.json, login_url: answer.loginUrl } };
      }
      const page = errorPage(
        answer.reason === undefined ? 'ZTNA_ERR_BEARER_REQUIRED' : 'ZTNA_ERR_BEARER_INVALID',
      );
      return answer.reason === undefined
        ? page
        : { ...page, json: { ...page.json, reason: answer.reason } };
    }
  }
}

/**
 * The `WWW-Authenticate` challenge of an answer that asks for a credential. No standard scheme
 * fits a cookie login: name ours and say where to sign in (RFC 9110 §11.6.1); bearer tokens
 * follow RFC 6750 §3 (a stable reason, never the token).
 */
export function authenticateHeaderFor(answer: Answer): string | undefined {
  if (answer.answer === 'step_up')
    return `ZTNA realm="ztna-gateway", error="step_up_required", login_url="${answer.loginUrl}"`;
  if (answer.answer !== 'challenge') return undefined;
  if (answer.credential === 'session')
    return `ZTNA realm="ztna-gateway", login_url="${answer.loginUrl}"`;
  return answer.reason === undefined
    ? 'Bearer realm="ztna-gateway"'
    : `Bearer realm="ztna-gateway", error="invalid_token", error_description="${answer.reason}"`;
}

/** The sign-in URL a browser navigation is redirected to, for answers that have one. */
export function loginRedirectOf(answer: Answer): string | undefined {
  if (answer.answer === 'step_up') return answer.loginUrl;
  if (answer.answer === 'challenge' && answer.credential === 'session') return answer.loginUrl;
  return undefined;
}
