import type { Request, Response } from 'express';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { contextOf, originOf } from '../pipeline/context.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Metrics } from '../metrics/registry.js';
import { errorPage } from '../pages/error.js';
import { logoutConfirmPage, signedOutPage } from '../pages/logout.js';
import type { PageSender } from '../pages/render.js';
import type { CookieNames } from '../session/cookie-names.js';
import type { OidcClient } from './oidc-client.js';
import { describe } from './oidc-client.js';
import { sameToken } from '../lib/same-token.js';
import { readCookies } from '../lib/cookie-header.js';
import { logoutHintCookieAttributes, MAX_HINTS_TRIED } from './logout-hint.js';
import type { LogoutHintSealer } from './logout-hint.js';

export interface LogoutDeps {
  readonly oidc: OidcClient;
  readonly names: CookieNames;
  readonly cookieDomain: string | undefined;
  readonly metrics: Metrics;
  readonly sendPage: PageSender;
  readonly log: Logger;
  /** Closes what lives on with a session (its WebSockets) once it is gone. */
  readonly onSessionEnded: (sid: string) => void;
  /** Counts a failed sign-in against the client's address: a CSRF failure is one. */
  readonly onSignInFailed: (context: RequestContext) => void;
  /** Opens the logout-hint cookie (auth/logout-hint.ts). */
  readonly logoutHints: LogoutHintSealer;
}

/** /.ztna/logout (GET confirm, POST sign out) and /.ztna/signed-out (SPEC §9). */
export function createLogoutHandlers(deps: LogoutDeps) {
  /** Where the IdP should send the browser after ending its own session (register it there). */
  function signedOutUrl(req: Request): string {
    return `${originOf(contextOf(req))}/.ztna/signed-out`;
  }

  async function idpLogoutUrl(
    req: Request,
    idToken: string | undefined,
  ): Promise<string | undefined> {
    try {
      const configuration = await deps.oidc.configuration();
      if (configuration.serverMetadata().end_session_endpoint === undefined) return undefined;
      return client.buildEndSessionUrl(configuration, {
        post_logout_redirect_uri: signedOutUrl(req),
        ...(idToken !== undefined && { id_token_hint: idToken }),
      }).href;
    } catch (error) {
      // The local session is gone whatever the IdP says; do not strand the user on an error.
      deps.log.warn(
        { error: describe(error) },
        'IdP logout URL unavailable; signed out locally only',
      );
      return undefined;
    }
  }

  /**
   * The ID token for `id_token_hint`: in the session when it was too long for a cookie, else
   * the logout-hint cookie sealed for this session (a planted or older one is skipped).
   */
  async function idTokenOf(req: Request, context: RequestContext): Promise<string | undefined> {
    const stored = req.session.tokens?.idToken;
    if (stored !== undefined) return stored;
    const values = readCookies(req.headers.cookie, deps.names.logoutHint(context.scheme));
    for (const sealed of values.slice(0, MAX_HINTS_TRIED)) {
      const idToken = await deps.logoutHints.open(sealed, req.sessionID);
      if (idToken !== undefined) return idToken;
    }
    // Cleared, evicted by the browser (too many cookies for the site), or never set: the IdP
    // may then ask the person to confirm, or (Okta) refuse to end its own session.
    deps.log.warn(
      { request_id: context.requestId, hint_cookies: values.length },
      'IdP logout without id_token_hint: no logout-hint cookie for this session',
    );
    return undefined;
  }

  /** The hint cookie goes with the session it was made for, at its sign-out. */
  function clearHint(res: Response, scheme: 'http' | 'https'): void {
    res.clearCookie(
      deps.names.logoutHint(scheme),
      logoutHintCookieAttributes(scheme, deps.cookieDomain),
    );
  }

  return {
    confirm(req: Request, res: Response): void {
      const context = contextOf(req);
      const session = req.session;
      const page =
        session?.user !== undefined && session.csrf !== undefined
          ? logoutConfirmPage(session.user, session.csrf)
          : signedOutPage();
      context.outcome = 'login';
      context.note = 'logout_confirm';
      deps.sendPage(req, res, page, context.requestId);
    },

    async logout(req: Request, res: Response): Promise<void> {
      const context = contextOf(req);
      context.outcome = 'login';
      const session = req.session;
      if (session?.user === undefined || session.csrf === undefined) {
        context.note = 'logout_no_session';
        // The hint cookie stays: this is also what a cross-site form's POST looks like (the
        // Lax cookies are not sent), and clearing it then would strip the hint from the
        // victim's real sign-out. Left behind, it opens for no other session and expires.
        res.redirect(303, signedOutUrl(req));
        return;
      }
      if (!sameToken(session.csrf, (req.body as Record<string, unknown> | undefined)?.csrf)) {
        context.note = 'logout_csrf';
        deps.onSignInFailed(context);
        deps.sendPage(req, res, errorPage('ZTNA_ERR_LOGOUT_CSRF'), context.requestId);
        return;
      }
      context.identity = session.user;
      const idToken = await idTokenOf(req, context);
      // Server-side first: the old cookie is worthless from here on, whatever the browser keeps.
      const sid = req.sessionID;
      await new Promise<void>((resolve, reject) =>
        session.destroy((err) => (err ? reject(err) : resolve())),
      );
      deps.onSessionEnded(sid);
      res.clearCookie(deps.names.session(context.scheme), {
        path: '/',
        domain: deps.cookieDomain,
        httpOnly: true,
        sameSite: 'lax',
        secure: context.scheme === 'https',
      });
      clearHint(res, context.scheme);
      deps.metrics.authEvents.inc({ event: 'logout' });
      context.note = 'logout';
      res.redirect(303, (await idpLogoutUrl(req, idToken)) ?? signedOutUrl(req));
    },

    signedOut(req: Request, res: Response): void {
      const context = contextOf(req);
      context.outcome = 'login';
      context.note = 'signed_out';
      deps.sendPage(req, res, signedOutPage(), context.requestId);
    },
  };
}
