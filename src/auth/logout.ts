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
import { logoutHintCookieAttributes } from './logout-hint.js';
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
  async function idTokenOf(req: Request, scheme: 'http' | 'https'): Promise<string | undefined> {
    const stored = req.session.tokens?.idToken;
    if (stored !== undefined) return stored;
    for (const sealed of readCookies(req.headers.cookie, deps.names.logoutHint(scheme))) {
      const idToken = await deps.logoutHints.open(sealed, req.sessionID);
      if (idToken !== undefined) return idToken;
    }
    return undefined;
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
      const idToken = await idTokenOf(req, context.scheme);
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
      res.clearCookie(
        deps.names.logoutHint(context.scheme),
        logoutHintCookieAttributes(context.scheme, deps.cookieDomain),
      );
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
