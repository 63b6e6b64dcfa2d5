import type { ErrorCode } from '../errors.js';
import type { RequestDecision } from '../metrics/registry.js';
import type { Decision } from '../policy/reasons.js';
import type { AccessOffer } from '../jit/offer.js';

/**
 * How a step ends a request instead of letting it go on (DESIGN §1): a value, never an
 * exception and never a response written on the spot. The HTTP renderer and the socket
 * renderer turn it into bytes; the recorder reads the outcome from it.
 */
export type Answer =
  /** An error page: bad target (400), no route (404), store down (503), a bug (500). */
  | { readonly answer: 'page'; readonly code: ErrorCode; readonly note: string }
  /** No valid session: sign in (302 for a navigation, 401 otherwise). */
  | {
      readonly answer: 'challenge';
      readonly credential: 'session';
      readonly loginUrl: string;
      readonly note: string;
    }
  /** No valid bearer token (RFC 6750 §3); `reason` is undefined when no token was sent. */
  | {
      readonly answer: 'challenge';
      readonly credential: 'bearer';
      readonly reason: string | undefined;
      readonly note: string;
    }
  /** The policy said no (403); `access` when the person may ask for just-in-time access. */
  | {
      readonly answer: 'deny';
      readonly decision: Decision;
      readonly routeName: string;
      readonly access?: AccessOffer | undefined;
    }
  /** The policy wants a fresher or stronger sign-in (SPEC §5). */
  | { readonly answer: 'step_up'; readonly decision: Decision; readonly loginUrl: string }
  /** Refused before any credential is looked at (not a WebSocket, cross-site, CONNECT). */
  | { readonly answer: 'refuse'; readonly code: ErrorCode; readonly note: string };

export function isAnswer(value: object): value is Answer {
  return 'answer' in value;
}

// Requests refused for what they ask for, not for a fault, count as denials.
const DENIAL_CODES: ReadonlySet<ErrorCode> = new Set([
  'ZTNA_ERR_ROUTE_NOT_FOUND',
  'ZTNA_ERR_WEBSOCKET_ORIGIN',
]);

/** What `ztna_requests_total` and the audit line count an answer as (SPEC §10). */
export function outcomeOf(answer: Answer): RequestDecision {
  switch (answer.answer) {
    case 'challenge':
    case 'step_up':
      return 'login';
    case 'deny':
      return 'deny';
    case 'page':
    case 'refuse':
      return DENIAL_CODES.has(answer.code) ? 'deny' : 'error';
  }
}

/** The audit line's reason when the answer carries no policy decision. */
export function noteOf(answer: Answer): string | undefined {
  return answer.answer === 'deny' || answer.answer === 'step_up' ? undefined : answer.note;
}
