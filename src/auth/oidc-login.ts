import type { Request, Response } from 'express';
import * as client from 'openid-client';
import { addressedContextOf, originOf } from '../pipeline/context.js';
import type { RequestContext } from '../pipeline/context.js';
import { cookieNames } from '../lib/cookie-header.js';
import type { Metrics } from '../metrics/registry.js';
import type { CookieNames } from '../session/cookie-names.js';
import { LOGIN_STATE_TTL_SECONDS } from './login-state.js';
import type { LoginStateSealer } from './login-state.js';
import type { OidcClient } from './oidc-client.js';
import { resolveRedirectTarget } from './redirect-target.js';

export interface LoginDeps {
  readonly oidc: OidcClient;
  readonly sealer: LoginStateSealer;
  readonly names: CookieNames;
  readonly scopes: readonly string[];
  /** The IdP's acr values for MFA, asked for (`acr_values`) on an MFA step-up. */
  readonly mfaAcrValues: readonly string[];
  readonly metrics: Metrics;
}

/** What a step-up login asks of the IdP, read from /.ztna/login's query. */
interface StepUpRequest {
  readonly mfa: boolean;
  readonly maxAgeSeconds: number | undefined;
}

/**
 * Reads `step_up=1[&mfa=1][&max_age=N]`. These come from the client, and that is fine: they
 * only make the login stricter, and the policy is evaluated again on the new session anyway.
 */
function readStepUp(query: Request['query']): StepUpRequest | undefined {
  if (query.step_up !== '1') return undefined;
  const maxAge =
    typeof query.max_age === 'string' && /^\d{1,9}$/.test(query.max_age)
      ? Number(query.max_age)
      : undefined;
  return { mfa: query.mfa === '1', maxAgeSeconds: maxAge };
}

/** Authorization request parameters that make the IdP authenticate the user anew (OIDC Core §3.1.2.1). */
function stepUpParameters(
  stepUp: StepUpRequest | undefined,
  mfaAcrValues: readonly string[],
): Record<string, string> {
  if (stepUp === undefined) return {};
  return {
    prompt: 'login',
    ...(stepUp.maxAgeSeconds !== undefined && { max_age: String(stepUp.maxAgeSeconds) }),
    ...(stepUp.mfa && mfaAcrValues.length > 0 && { acr_values: mfaAcrValues.join(' ') }),
  };
}

/** Logins a browser may have in flight at once; beyond that the stale ones are dropped. */
const MAX_PENDING_LOGINS = 5;

/**
 * Attributes of the login-state cookie: host-only (never a Domain). On HTTPS its name is
 * `__Host-`, which browsers accept only with Path=/ (the gateway strips it from proxied
 * requests like every gateway cookie); on plain HTTP it stays on /.ztna/.
 */
export function loginCookieAttributes(scheme: 'http' | 'https') {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: scheme === 'https',
    path: scheme === 'https' ? '/' : '/.ztna/',
  };
}

/** The one place the callback URL is spelled; it must match what the IdP has registered. */
export function callbackUrl(context: RequestContext): string {
  return `${originOf(context)}/.ztna/callback`;
}

function dropStaleLogins(
  req: Request,
  res: Response,
  context: RequestContext,
  names: CookieNames,
): void {
  const pending = cookieNames(req.headers.cookie).filter(
    (name) => names.isGatewayCookie(name) && name.includes('_login_'),
  );
  if (pending.length < MAX_PENDING_LOGINS) return;
  for (const name of pending) res.clearCookie(name, loginCookieAttributes(context.scheme));
}

/**
 * GET /.ztna/login?rd=…: starts the authorization code flow with PKCE, `state` and `nonce`
 * (SPEC §9). The return URL is validated here and sealed with the rest of the state, so the
 * callback never reads a client-supplied destination.
 */
export function createLoginHandler(deps: LoginDeps) {
  return async function startLogin(req: Request, res: Response): Promise<void> {
    const context = addressedContextOf(req);
    const base = { scheme: context.scheme, authority: context.host.authority };
    const returnTo =
      resolveRedirectTarget(req.query.rd, base, (host) => context.table.index.hasHost(host)) ??
      `${originOf(context)}/`;
    const configuration = await deps.oidc.configuration();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const stepUp = readStepUp(req.query);
    const authorizationUrl = client.buildAuthorizationUrl(configuration, {
      ...stepUpParameters(stepUp, deps.mfaAcrValues),
      redirect_uri: callbackUrl(context),
      response_type: 'code',
      scope: deps.scopes.join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    dropStaleLogins(req, res, context, deps.names);
    const sealed = await deps.sealer.seal({
      state,
      nonce,
      codeVerifier,
      returnTo,
      maxAge: stepUp?.maxAgeSeconds,
      stepUp: stepUp !== undefined,
    });
    res.cookie(deps.names.loginState(context.scheme, state), sealed, {
      ...loginCookieAttributes(context.scheme),
      maxAge: LOGIN_STATE_TTL_SECONDS * 1000,
    });
    deps.metrics.authEvents.inc({ event: 'login_start' });
    context.outcome = 'login';
    context.note = 'login_start';
    res.redirect(302, authorizationUrl.href);
  };
}
