/**
 * The one registry of operational error codes (DESIGN §3). Each has the HTTP status the client
 * gets and the sentence shown on the error page; the cause is logged, never shown.
 * docs/errors.md lists them all (a test keeps the two in step).
 */
export const ERROR_CODES = {
  ZTNA_ERR_REQUEST_BAD_TARGET: {
    status: 400,
    title: 'Bad request',
    message: 'The address of this request is not acceptable.',
  },
  ZTNA_ERR_REQUEST_BAD_HOST: {
    status: 400,
    title: 'Bad request',
    message: 'The Host header of this request is missing, repeated or malformed.',
  },
  ZTNA_ERR_REQUEST_BAD_UPGRADE: {
    status: 400,
    title: 'Bad request',
    message: 'Only WebSocket upgrades (GET with Upgrade: websocket) are accepted.',
  },
  ZTNA_ERR_REQUEST_BAD_BODY: {
    status: 400,
    title: 'Bad request',
    message: 'The body of this request is too large or malformed.',
  },
  ZTNA_ERR_ROUTE_NOT_FOUND: {
    status: 404,
    title: 'Not found',
    message: 'No application is published at this address.',
  },
  ZTNA_ERR_AUTH_REQUIRED: {
    status: 401,
    title: 'Sign-in required',
    message: 'Sign in to use this application.',
  },
  ZTNA_ERR_BEARER_REQUIRED: {
    status: 401,
    title: 'Token required',
    message: 'This service is reached with a bearer token (Authorization: Bearer ...).',
  },
  ZTNA_ERR_BEARER_INVALID: {
    status: 401,
    title: 'Token refused',
    message:
      'The bearer token was not accepted. The reason is in the answer and in the gateway log.',
  },
  ZTNA_ERR_STEP_UP_REQUIRED: {
    status: 401,
    title: 'Sign in again',
    message:
      'This part of the application needs a new sign-in (with a second factor, or a recent one).',
  },
  ZTNA_ERR_WEBSOCKETS_DISABLED: {
    status: 403,
    title: 'WebSockets not allowed',
    message: 'This application does not accept WebSocket connections through the gateway.',
  },
  ZTNA_ERR_WEBSOCKET_ORIGIN: {
    status: 403,
    title: 'Cross-site connection refused',
    message: 'A page of another site may not open a connection to this application.',
  },
  ZTNA_ERR_POLICY_DENIED: {
    status: 403,
    title: 'Access denied',
    message: 'You do not have access to this application.',
  },
  ZTNA_ERR_SESSION_STORE_UNAVAILABLE: {
    status: 503,
    title: 'Sign-in unavailable',
    message: 'The session store cannot be reached right now. Try again in a moment.',
  },
  ZTNA_ERR_IDP_UNAVAILABLE: {
    status: 503,
    title: 'Sign-in unavailable',
    message: 'The identity provider cannot be reached right now. Try again in a moment.',
  },
  ZTNA_ERR_LOGIN_STATE_INVALID: {
    status: 400,
    title: 'Sign-in expired',
    message: 'This sign-in attempt expired or was started in another browser. Start again.',
  },
  ZTNA_ERR_LOGIN_REJECTED: {
    status: 403,
    title: 'Sign-in refused',
    message: 'The identity provider did not sign you in.',
  },
  ZTNA_ERR_LOGIN_GROUP_NAME: {
    status: 403,
    title: 'Sign-in refused',
    message:
      'One of your groups at the identity provider has a comma in its name, which the gateway cannot pass on unambiguously. Ask your identity provider administrator to rename it.',
  },
  ZTNA_ERR_LOGIN_FAILED: {
    status: 502,
    title: 'Sign-in failed',
    message: 'The answer of the identity provider could not be verified. Start again.',
  },
  ZTNA_ERR_LOGOUT_CSRF: {
    status: 403,
    title: 'Sign-out not confirmed',
    message: 'The sign-out form expired. Open the sign-out page again.',
  },
  ZTNA_ERR_ACCESS_FORM_INVALID: {
    status: 400,
    title: 'Request not accepted',
    message: 'The access form was not filled in as it should be. Nothing was changed.',
  },
  ZTNA_ERR_ACCESS_CSRF: {
    status: 403,
    title: 'Form expired',
    message: 'The access form expired or came from another page. Open the page again.',
  },
  ZTNA_ERR_ACCESS_FORM_NOT_CLICKED: {
    status: 403,
    title: 'Form not sent from this page',
    message:
      'Access requests and decisions are accepted only from a button clicked on a page of this site, in a current browser over HTTPS. Nothing was changed: open the page again and click the button.',
  },
  ZTNA_ERR_ACCESS_NOT_APPROVER: {
    status: 403,
    title: 'Not an approver',
    message: 'You are not among the approvers of this request.',
  },
  ZTNA_ERR_ACCESS_DECIDE_ELSEWHERE: {
    status: 403,
    title: 'Decide on the application',
    message:
      "Requests for this access are decided on the application's own address, not here. Open its /.ztna/access page.",
  },
  ZTNA_ERR_ACCESS_MFA_REQUIRED: {
    status: 403,
    title: 'Second factor required',
    message:
      'Deciding access requests needs a sign-in with a second factor in the last 10 minutes. Open the access page to sign in again.',
  },
  ZTNA_ERR_ACCESS_SELF_APPROVAL: {
    status: 403,
    title: 'Not your decision',
    message: 'Nobody decides their own access request: another approver has to.',
  },
  ZTNA_ERR_ACCESS_ALREADY_DECIDED: {
    status: 409,
    title: 'Already decided',
    message: 'This request was decided already, or withdrawn. Nothing was changed.',
  },
  ZTNA_ERR_ACCESS_ALREADY_GRANTED: {
    status: 409,
    title: 'Access already given',
    message: 'You hold this access already. Reload the application.',
  },
  ZTNA_ERR_RATE_LIMITED: {
    status: 429,
    title: 'Too many sign-in attempts',
    message:
      'Too many failed sign-in attempts came from your network. Wait a minute and try again.',
  },
  ZTNA_ERR_UPSTREAM_CONNECT: {
    status: 502,
    title: 'Application unreachable',
    message: 'The application cannot be reached right now.',
  },
  ZTNA_ERR_UPSTREAM_RESET: {
    status: 502,
    title: 'Application error',
    message: 'The application closed the connection unexpectedly.',
  },
  ZTNA_ERR_UPSTREAM_TLS: {
    status: 502,
    title: 'Application unreachable',
    message: 'The secure connection to the application could not be verified.',
  },
  ZTNA_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    title: 'Application timed out',
    message: 'The application did not answer in time.',
  },
  ZTNA_ERR_INTERNAL: {
    status: 500,
    title: 'Internal error',
    message:
      'Something went wrong in the gateway. The request id below helps the operators find out what.',
  },
} as const satisfies Record<string, { status: number; title: string; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * An operational error with a stable code. `expose` is false: clients see the registry's
 * sentence and the request id, the `cause` goes to the log.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose = false;
  constructor(code: ErrorCode, options?: { cause?: unknown; detail?: string }) {
    super(options?.detail ?? ERROR_CODES[code].message, { cause: options?.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

/** Matches by `.code`, not instanceof (DESIGN §3: jest realms). */
export function isGatewayError(error: unknown): error is GatewayError {
  return (
    typeof error === 'object' &&
    error !== null &&
    Object.hasOwn(ERROR_CODES, (error as { code?: string }).code ?? '')
  );
}
