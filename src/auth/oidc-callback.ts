import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { addressedContextOf } from '../pipeline/context.js';
import type { RequestContext } from '../pipeline/context.js';
import { GatewayError } from '../errors.js';
import { readCookie } from '../lib/cookie-header.js';
import { errorPage } from '../pages/error.js';
import { html } from '../pages/render.js';
import type { PageSender } from '../pages/render.js';
import type { Identity } from '../policy/types.js';
import type { PostureCollector } from '../posture/collect.js';
import { hasAmbiguousGroupName, identityFromClaims } from './identity-from-claims.js';
import { callbackUrl, loginCookieAttributes } from './oidc-login.js';
import type { LoginDeps } from './oidc-login.js';
import { describe } from './oidc-client.js';
import { logoutHintCookieAttributes, maxSealedIdTokenChars } from './logout-hint.js';
import type { LogoutHintSealer } from './logout-hint.js';

export interface CallbackDeps extends LoginDeps {
  readonly groupsClaim: string;
  readonly collectPosture: PostureCollector;
  readonly sendPage: PageSender;
  readonly log: Logger;
  readonly now: () => number;
  /** Counts a failed sign-in against the client's address (the failed-sign-in limit). */
  readonly onSignInFailed: (context: RequestContext) => void;
  /** Seals the ID token into the logout-hint cookie (auth/logout-hint.ts). */
  readonly logoutHints: LogoutHintSealer;
  readonly cookieDomain: string | undefined;
  readonly sessionMaxAgeMs: number;
  /** `limits.max_header_bytes`: the hint cookie takes at most a quarter of a request head. */
  readonly maxHeaderBytes: number;
}

function promisify(run: (done: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((err) => (err ? reject(err) : resolve())));
}

/** Fetches UserInfo only when the ID token lacks what policies need (one round trip saved). */
export async function fetchMissingClaims(
  configuration: client.Configuration,
  tokens: client.TokenEndpointResponse,
  claims: Record<string, unknown>,
  groupsClaim: string,
  log: Logger,
): Promise<Record<string, unknown> | undefined> {
  const complete = claims.email !== undefined && claims[groupsClaim] !== undefined;
  if (complete || configuration.serverMetadata().userinfo_endpoint === undefined) return undefined;
  try {
    return await client.fetchUserInfo(configuration, tokens.access_token, String(claims.sub));
  } catch (error) {
    log.warn(
      { error: describe(error) },
      'UserInfo request failed; continuing with ID token claims',
    );
    return undefined;
  }
}

/**
 * Starts a fresh session: a new id (no fixation, SPEC §4.3) holding identity and tokens.
 * `regenerate` replaces `req.session`, so the new object is read only after it.
 */
async function startSession(
  req: Request,
  identity: Identity,
  tokens: client.TokenEndpointResponse,
  now: number,
  extra: {
    deviceId: string | undefined;
    stepUp: boolean;
    idpSid: string | undefined;
    /** False when the ID token travels in the logout-hint cookie instead. */
    storeIdToken: boolean;
  },
): Promise<void> {
  await promisify((done) => req.session.regenerate(done));
  const fresh = req.session;
  fresh.user = identity;
  // SPEC §6: the device seen at login is bound to the session.
  if (extra.deviceId !== undefined) fresh.deviceId = extra.deviceId;
  if (extra.stepUp) fresh.steppedUpAt = now;
  fresh.tokens = {
    idToken: extra.storeIdToken ? tokens.id_token : undefined,
    refreshToken: tokens.refresh_token,
    expiresAt: tokens.expires_in === undefined ? undefined : now + tokens.expires_in * 1000,
  };
  // A back-channel logout from the IdP names its session by this id (SPEC §9).
  if (extra.idpSid !== undefined) fresh.idpSid = extra.idpSid;
  fresh.createdAt = now;
  fresh.csrf = randomBytes(32).toString('base64url');
  await promisify((done) => fresh.save(done));
}

function startAgainLink(): ReturnType<typeof html> {
  return html`<p><a class="button" href="/.ztna/login?rd=%2F">Sign in again</a></p>`;
}

/**
 * GET /.ztna/callback: completes the login. The state must match a sealed login-state cookie
 * of this browser; openid-client verifies state, PKCE, the ID token and its nonce.
 */
export function createCallbackHandler(deps: CallbackDeps) {
  function refuse(
    req: Request,
    res: Response,
    context: RequestContext,
    code: 'ZTNA_ERR_LOGIN_STATE_INVALID' | 'ZTNA_ERR_LOGIN_REJECTED' | 'ZTNA_ERR_LOGIN_GROUP_NAME',
    why: string,
    /**
     * False for a callback that carries no login-state cookie at all: any web page can make an
     * office's browsers send those (an <img> is enough; the cookie stays behind, SameSite), and
     * counting them would let it lock the office's address out of signing in. They cost the
     * gateway one page and never reach the IdP.
     */
    spendsBudget = true,
  ): void {
    deps.metrics.authEvents.inc({ event: 'login_fail' });
    if (spendsBudget) deps.onSignInFailed(context);
    context.outcome = 'login';
    context.note = `login_fail:${why}`;
    deps.sendPage(req, res, errorPage(code, startAgainLink()), context.requestId);
  }

  return async function finishLogin(req: Request, res: Response): Promise<void> {
    const context = addressedContextOf(req);
    const state = typeof req.query.state === 'string' ? req.query.state : undefined;
    const cookieName =
      state === undefined ? undefined : deps.names.loginState(context.scheme, state);
    const sealed =
      cookieName === undefined ? undefined : readCookie(req.headers.cookie, cookieName);
    const login = sealed === undefined ? undefined : await deps.sealer.open(sealed);
    if (login === undefined || login.state !== state)
      return refuse(
        req,
        res,
        context,
        'ZTNA_ERR_LOGIN_STATE_INVALID',
        sealed === undefined ? 'no_state' : 'state',
        sealed !== undefined,
      );
    res.clearCookie(cookieName!, loginCookieAttributes(context.scheme));
    if (req.query.error !== undefined) {
      // The IdP's error text is attacker-influenced (it travels in the URL): log a bounded code only.
      const code =
        typeof req.query.error === 'string' && /^[a-z_]{1,64}$/.test(req.query.error)
          ? req.query.error
          : 'invalid';
      return refuse(req, res, context, 'ZTNA_ERR_LOGIN_REJECTED', code);
    }

    const configuration = await deps.oidc.configuration();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(
        configuration,
        new URL(callbackUrl(context) + context.target.query),
        {
          pkceCodeVerifier: login.codeVerifier,
          expectedState: login.state,
          expectedNonce: login.nonce,
          idTokenExpected: true,
          // A step-up asked for a recent authentication: openid-client checks auth_time.
          ...(login.maxAge !== undefined && { maxAge: login.maxAge }),
        },
      );
    } catch (error) {
      // The IdP refused the code (reused, expired, forged) or the ID token did not verify.
      deps.metrics.authEvents.inc({ event: 'login_fail' });
      deps.onSignInFailed(context);
      throw new GatewayError('ZTNA_ERR_LOGIN_FAILED', { cause: error });
    }
    const claims = tokens.claims()! as Record<string, unknown>;
    const userinfo = await fetchMissingClaims(
      configuration,
      tokens,
      claims,
      deps.groupsClaim,
      deps.log,
    );
    const identity = identityFromClaims(claims, userinfo, deps.groupsClaim);
    // SPEC §8: X-Forwarded-Groups is comma-separated; "eng,admins" would read as two groups.
    if (hasAmbiguousGroupName(identity)) {
      deps.log.warn(
        {
          request_id: context.requestId,
          sub: identity.sub,
          error_code: 'ZTNA_ERR_LOGIN_GROUP_NAME',
        },
        'sign-in refused: a group name contains a comma',
      );
      return refuse(req, res, context, 'ZTNA_ERR_LOGIN_GROUP_NAME', 'group_name');
    }
    const posture = await deps.collectPosture(
      req.headers,
      context.peerIp,
      context.requestId,
      deps.now(),
    );
    const deviceId =
      posture.email === undefined || posture.email === identity.email
        ? posture.facts?.deviceId
        : undefined;
    const idToken = tokens.id_token;
    const hintInCookie =
      idToken !== undefined && idToken.length <= maxSealedIdTokenChars(deps.maxHeaderBytes);
    await startSession(req, identity, tokens, deps.now(), {
      deviceId,
      stepUp: login.stepUp === true,
      idpSid: typeof claims.sid === 'string' && claims.sid !== '' ? claims.sid : undefined,
      storeIdToken: !hintInCookie,
    });
    const hintCookie = deps.names.logoutHint(context.scheme);
    const hintAttributes = logoutHintCookieAttributes(context.scheme, deps.cookieDomain);
    if (hintInCookie) {
      const maxAgeMs = deps.sessionMaxAgeMs;
      res.cookie(hintCookie, await deps.logoutHints.seal(idToken, req.sessionID, maxAgeMs / 1000), {
        ...hintAttributes,
        maxAge: maxAgeMs,
      });
    } else {
      // An earlier login's hint would only ride along: this session keeps its token in the store.
      res.clearCookie(hintCookie, hintAttributes);
    }

    deps.metrics.authEvents.inc({ event: 'login_ok' });
    deps.log.info(
      {
        request_id: context.requestId,
        sub: identity.sub,
        amr: claims.amr,
        acr: claims.acr,
        step_up: login.stepUp === true,
        device_id: deviceId,
      },
      'login',
    );
    context.identity = identity;
    context.auth = 'session';
    context.outcome = 'login';
    context.note = 'login_ok';
    res.redirect(302, login.returnTo);
  };
}
