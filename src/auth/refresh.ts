import type { SessionData } from 'express-session';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/registry.js';
import type { Identity } from '../policy/types.js';
import type { StoredTokens } from '../session/session-data.js';
import { hasAmbiguousGroupName, refreshedIdentity } from './identity-from-claims.js';
import { fetchMissingClaims } from './oidc-callback.js';
import { describe } from './oidc-client.js';
import type { OidcClient } from './oidc-client.js';

export interface RefreshDeps {
  readonly oidc: OidcClient;
  readonly groupsClaim: string;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
}

/** Refresh this long before the access token expires, so no request carries a stale one. */
const REFRESH_AHEAD_MS = 30_000;

/**
 * `fresh`: nothing to do; `refreshed`: new tokens and claims in the session; `rejected`: the IdP
 * refused (user disabled, grant revoked): the session must end; `unavailable`: the IdP could
 * not be asked: keep the session and try again on a later request.
 */
export type RefreshOutcome = 'fresh' | 'refreshed' | 'rejected' | 'unavailable';

interface Refreshed {
  readonly tokens: StoredTokens;
  readonly user: Identity;
}

/**
 * Keeps sessions verified against the IdP (continuous verification): when the IdP's access
 * token expires, the refresh token is used, which fails once the user is disabled or the grant
 * revoked, and brings current claims (groups) when it succeeds: the identity is then rebuilt
 * from the new ID token and UserInfo alone (refreshedIdentity), so what the IdP withdrew is gone. Single-flight per session
 * (SPEC §4.3): concurrent requests of one session share one refresh, so a rotating refresh
 * token is never spent twice. Sessions without a refresh token live on until max_age/idle.
 */
export function createTokenRefresher(deps: RefreshDeps) {
  const inFlight = new Map<string, Promise<Refreshed | 'rejected' | 'unavailable'>>();

  async function refresh(
    tokens: StoredTokens,
    user: Identity,
  ): Promise<Refreshed | 'rejected' | 'unavailable'> {
    try {
      const configuration = await deps.oidc.configuration();
      const response = await client.refreshTokenGrant(configuration, tokens.refreshToken!);
      const idClaims =
        response.id_token === undefined
          ? undefined
          : (response.claims() as Record<string, unknown> | undefined);
      // OIDC Core §12.2: a refreshed ID token is about the same user, or it is not accepted.
      if (idClaims !== undefined && idClaims.sub !== user.sub) {
        deps.metrics.authEvents.inc({ event: 'refresh_fail' });
        deps.log.warn({ sub: user.sub }, 'token refresh refused: the ID token names another user');
        return 'rejected';
      }
      const userinfo = await fetchMissingClaims(
        configuration,
        response,
        idClaims ?? { sub: user.sub },
        deps.groupsClaim,
        deps.log,
      );
      // Without a new ID token and without UserInfo the IdP said nothing new about the user.
      const next =
        idClaims === undefined && userinfo === undefined
          ? user
          : refreshedIdentity(user, idClaims, userinfo, deps.groupsClaim);
      if (hasAmbiguousGroupName(next)) {
        deps.metrics.authEvents.inc({ event: 'refresh_fail' });
        deps.log.warn(
          { sub: user.sub, error_code: 'ZTNA_ERR_LOGIN_GROUP_NAME' },
          'token refresh refused: a group name contains a comma',
        );
        return 'rejected';
      }
      deps.metrics.authEvents.inc({ event: 'refresh_ok' });
      return {
        user: next,
        tokens: {
          // The logout hint stays the ID token of the login, which is what IdPs expect (Okta
          // requires the original); a refreshed one would also bring it back into the store.
          idToken: tokens.idToken,
          refreshToken: response.refresh_token ?? tokens.refreshToken,
          expiresAt:
            response.expires_in === undefined ? undefined : deps.now() + response.expires_in * 1000,
        },
      };
    } catch (error) {
      deps.metrics.authEvents.inc({ event: 'refresh_fail' });
      // An OAuth error answer (invalid_grant, ...) is the IdP saying no; anything else is the
      // IdP being unreachable, which must not sign everyone out.
      const refused = typeof (error as { error?: unknown }).error === 'string';
      deps.log.info({ error: describe(error), refused }, 'token refresh failed');
      return refused ? 'rejected' : 'unavailable';
    }
  }

  /** Refreshes `session.data` in place when its access token is (about to be) expired. */
  return async function refreshIfDue(session: {
    readonly id: string;
    data: SessionData;
  }): Promise<RefreshOutcome> {
    const { tokens, user } = session.data;
    if (tokens?.expiresAt === undefined || user === undefined) return 'fresh';
    if (deps.now() < tokens.expiresAt - REFRESH_AHEAD_MS) return 'fresh';
    // Read only once due: the memory store decodes a token when it is read (PackedTokens).
    if (tokens.refreshToken === undefined) return 'fresh';
    let pending = inFlight.get(session.id);
    if (pending === undefined) {
      pending = refresh(tokens, user).finally(() => inFlight.delete(session.id));
      inFlight.set(session.id, pending);
    }
    const result = await pending;
    if (typeof result === 'string') return result;
    // Every request that waited writes the same result into its copy of the session, so
    // whichever saves last saves the new tokens, never the spent refresh token.
    session.data.tokens = result.tokens;
    session.data.user = result.user;
    return 'refreshed';
  };
}

export type TokenRefresher = ReturnType<typeof createTokenRefresher>;
