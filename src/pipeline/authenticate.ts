import type { SessionData } from 'express-session';
import type { Identity } from '../policy/types.js';
import type { Decision } from '../policy/reasons.js';
import type { Answer } from './answer.js';
import type { Authenticated, RequestHead, Resolved } from './context.js';
import { originOf } from './context.js';
import type { LiveSession, PipelineSources } from './sources.js';

type AuthFacts = Pick<Authenticated, 'identity' | 'auth' | 'session' | 'consumedAuthorization'>;

const PUBLIC: AuthFacts = {
  identity: undefined,
  auth: undefined,
  session: undefined,
  consumedAuthorization: false,
};

/** What a sign-in URL is made of: the origin the client addressed and where it was going. */
export type SignInContext = Pick<Resolved, 'scheme' | 'host' | 'target'>;

/** The login URL; step-up parameters tell /.ztna/login what to ask the IdP for (SPEC §5). */
export function loginUrlFor(context: SignInContext, stepUp?: Decision): string {
  const params = new URLSearchParams({ rd: context.target.path + context.target.query });
  if (stepUp !== undefined) {
    const need = stepUp.stepUp;
    params.set('step_up', '1');
    if (need?.mfa) params.set('mfa', '1');
    if (need?.maxAgeMs !== undefined)
      params.set('max_age', String(Math.floor(need.maxAgeMs / 1000)));
  }
  return `${originOf(context)}/.ztna/login?${params.toString()}`;
}

/** Sends the browser to sign in (again); `note` says why, for the audit line. */
export function signInAgain(context: SignInContext, note: string): Answer {
  return { answer: 'challenge', credential: 'session', loginUrl: loginUrlFor(context), note };
}

/**
 * Judges stored session data: the identity while the session is within its absolute max age,
 * `expired` after, undefined when there is no login. Pure.
 */
export function judgeSession(
  data: Partial<SessionData> | undefined,
  now: number,
  maxAgeMs: number,
): { identity: Identity; ageMs: number } | 'expired' | undefined {
  if (data?.user === undefined || data.createdAt === undefined) return undefined;
  const ageMs = now - data.createdAt;
  return ageMs >= maxAgeMs || ageMs < 0 ? 'expired' : { identity: data.user, ageMs };
}

/** Services: a bearer JWT from a configured issuer (RFC 6750). The token is not passed on. */
async function authenticateBearer(token: string, sources: PipelineSources) {
  const result = await sources.verifyBearer(token, sources.now());
  if (!result.ok)
    return {
      answer: 'challenge',
      credential: 'bearer',
      reason: result.reason,
      note: `bearer:${result.reason}`,
    } as const;
  return {
    identity: result.identity,
    auth: 'bearer',
    session: undefined,
    consumedAuthorization: true,
  } as const;
}

/** Browsers: a live session, its IdP tokens refreshed when they expire. */
export async function authenticateSession(
  context: SignInContext,
  session: LiveSession | undefined,
  sources: PipelineSources,
  maxAgeMs: number,
): Promise<AuthFacts | Answer> {
  const verdict = judgeSession(session?.data, sources.now(), maxAgeMs);
  if (verdict === undefined || session === undefined)
    return signInAgain(context, 'unauthenticated');
  if (verdict === 'expired') {
    await sources.endSession(session);
    return signInAgain(context, 'unauthenticated');
  }
  sources.observe.credentialAge('session', verdict.ageMs / 1000);
  sources.touchSession(session);
  // Continuous verification: expired IdP tokens are refreshed; a refusal ends the session.
  const refreshed = await sources.refreshSession(session);
  if (refreshed === 'rejected') {
    await sources.endSession(session);
    return signInAgain(context, 'refresh_rejected');
  }
  // Saved only if the session still exists: a logout or revocation during the refresh wins.
  if (refreshed === 'refreshed' && !(await sources.saveSession(session)))
    return signInAgain(context, 'session_ended');
  return {
    identity: session.data.user,
    auth: 'session',
    session,
    consumedAuthorization: false,
  };
}

/**
 * Step 3 (SPEC §2): who is asking. Public routes skip it. A route that accepts `bearer` takes
 * an `Authorization: Bearer` token when one is sent (services); otherwise, on `session` routes,
 * the browser session. Without a valid credential the request ends here with a challenge.
 */
export async function authenticate(
  context: Resolved,
  head: RequestHead,
  sources: PipelineSources,
  sessionMaxAgeMs: number,
): Promise<AuthFacts | Answer> {
  const route = context.route;
  if (route.public) return PUBLIC;
  const token = sources.bearerToken(head, route);
  if (token !== undefined) return authenticateBearer(token, sources);
  if (!route.auth.has('session'))
    return {
      answer: 'challenge',
      credential: 'bearer',
      reason: undefined,
      note: 'no_bearer_token',
    };
  const session = await sources.readSession(head, context.scheme);
  return authenticateSession(context, session, sources, sessionMaxAgeMs);
}
