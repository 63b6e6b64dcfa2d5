import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { escapeHtml } from '../lib/html.js';

/** A person the embedded IdP can sign in. */
export interface IdpUser {
  readonly sub: string;
  readonly username: string;
  readonly password: string;
  readonly email: string;
  readonly emailVerified?: boolean;
  readonly name: string;
  /** Omit to issue no groups claim at all (to test fail-closed policies). */
  readonly groups?: readonly string[];
  /** A one-time code this user can add at sign-in: a second factor (`amr: [pwd, otp]`). */
  readonly otp?: string;
}

/** The `acr` values of the embedded IdP: password only, or password and a second factor. */
export const ACR_PASSWORD = 'urn:ztna:pwd';
export const ACR_MFA = 'urn:ztna:mfa';

export interface IdpOptions {
  readonly host?: string;
  /** Listen on this port (default: any free one). */
  readonly port?: number;
  /** Access token lifetime; short values exercise the gateway's refresh (default 1h). */
  readonly accessTokenTtlSeconds?: number;
  /** Delays token endpoint answers (tests: makes concurrent refreshes overlap for sure). */
  readonly tokenDelayMs?: number;
  /**
   * `all` (default): email and groups in the ID token too, like most corporate IdPs are set up;
   * `minimal`: the ID token carries only protocol claims, the rest comes from UserInfo (OIDC
   * Core §5.4, as oidc-provider and some IdPs do by default).
   */
  readonly idTokenClaims?: 'all' | 'minimal';
}

export interface IdpClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  /** Where the IdP posts logout tokens when a user signs out at the IdP (Back-Channel Logout). */
  readonly backchannelLogoutUri?: string;
}

/** A running IdP: the issuer is fixed as soon as it listens; clients are registered after. */
export interface EmbeddedIdp {
  readonly issuer: string;
  /** Builds the provider for these clients; until then the IdP answers 503 (discovery retries). */
  configure(clients: readonly IdpClient[]): Promise<void>;
  /** Offboards a user: their sign-ins and token refreshes fail from now on. */
  disable(sub: string): void;
  /** Changes a user's groups at the IdP (undefined: no groups claim); seen at the next token. */
  setGroups(sub: string, groups: readonly string[] | undefined): void;
  close(): Promise<void>;
}

/**
 * The embedded IdP only ever calls the gateway next to it, on this machine, under the route
 * host names the demo and the tests use (`*.localhost`, `*.test`), which DNS does not know:
 * every name it calls resolves to loopback.
 */
function loopbackAgent(): Agent {
  return new Agent({
    connect: {
      lookup: (_hostname, options, callback) =>
        options.all === true
          ? callback(null, [{ address: '127.0.0.1', family: 4 }])
          : callback(null, '127.0.0.1', 4),
    },
  });
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 4096) req.destroy(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function idpPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:10vh auto}button{font:inherit;display:block;margin:.4rem 0;padding:.4rem;width:100%}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function loginForm(uid: string, users: readonly IdpUser[], error?: string): string {
  const hints = users
    .map(
      (u) =>
        `<li><code>${escapeHtml(u.username)}</code> — ${escapeHtml(u.name)} (${escapeHtml((u.groups ?? []).join(', ') || 'no groups')})</li>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo IdP sign-in</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:10vh auto}input,button{font:inherit;display:block;margin:.4rem 0;padding:.4rem;width:100%}.err{color:#b00}</style></head>
<body><h1>Demo IdP</h1>${error ? `<p class="err">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Username <input name="username" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<label>One-time code (second factor, if you have one) <input name="otp" autocomplete="one-time-code" inputmode="numeric"></label>
<button type="submit">Sign in</button></form>
<p>Demo users:</p><ul>${hints}</ul></body></html>`;
}

/**
 * Runs `work` with oidc-provider's console notices held back. They address people who operate
 * oidc-provider in production (adapters, Node version, default pages); for the embedded demo
 * and test IdP they are noise, and "Unsupported runtime" would alarm a quick-start user on
 * Node 20, where it works.
 */
async function withoutProviderNotices<T>(work: () => Promise<T> | T): Promise<T> {
  const { warn, info } = console;
  const filter =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) return;
      original(...args);
    };
  console.warn = filter(warn);
  console.info = filter(info);
  try {
    return await work();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

/**
 * Starts an embedded OpenID Connect provider (oidc-provider) on loopback: the IdP of
 * `serve --demo` and of the integration tests. Users sign in on a plain form; consent is
 * granted automatically (a first-party IdP); refresh tokens are issued for `offline_access`
 * without forcing `prompt=consent` (as Okta, Entra ID and Keycloak behave).
 */
export async function startIdp(
  users: readonly IdpUser[],
  options: IdpOptions = {},
): Promise<EmbeddedIdp> {
  const host = options.host ?? '127.0.0.1';
  const { default: Provider } = await withoutProviderNotices(() => import('oidc-provider'));
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler === undefined) {
      res.writeHead(503).end('starting');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host}:${port}`;
  const byLogin = new Map(users.flatMap((u) => [[u.username, u] as const, [u.email, u] as const]));
  const bySub = new Map(users.map((u) => [u.sub, u]));
  const disabled = new Set<string>();
  // Closed with the IdP: its keep-alive sockets to the gateway would otherwise outlive it.
  const toLoopback = loopbackAgent();
  // Group changes made at the IdP after start (setGroups), by sub: they win over `users`.
  const changedGroups = new Map<string, readonly string[] | undefined>();

  async function configure(clients: readonly IdpClient[]): Promise<void> {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const configuration: Configuration = {
      clients: clients.map((c) => ({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        redirect_uris: [...c.redirectUris],
        post_logout_redirect_uris: [...c.postLogoutRedirectUris],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        ...(c.backchannelLogoutUri !== undefined && {
          backchannel_logout_uri: c.backchannelLogoutUri,
          backchannel_logout_session_required: true,
        }),
      })),
      fetch: (url, init) =>
        undiciFetch(String(url instanceof Request ? url.url : url), {
          ...(init as object),
          dispatcher: toLoopback,
        }) as unknown as Promise<Response>,
      jwks: {
        keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'demo-idp' }],
      },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      claims: {
        openid: ['sub', 'amr'],
        email: ['email', 'email_verified'],
        profile: ['name'],
        groups: ['groups'],
      },
      scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
      // By default email and groups in the ID token too, like most corporate IdPs are configured.
      conformIdTokenClaims: options.idTokenClaims === 'minimal',
      features: {
        devInteractions: { enabled: false },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: (ctx: KoaContextWithOIDC, form: string) => {
            ctx.body = idpPage(
              'Sign out of the demo IdP?',
              `${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out everywhere</button><button type="submit" form="op.logoutForm">No, stay signed in at the IdP</button>`,
            );
          },
          postLogoutSuccessSource: (ctx: KoaContextWithOIDC) => {
            ctx.body = idpPage('Signed out', '<p>You are signed out of the demo IdP.</p>');
          },
        },
      },
      renderError: (
        ctx: KoaContextWithOIDC,
        out: { error?: string; error_description?: string },
      ) => {
        ctx.type = 'html';
        ctx.body = idpPage(
          'Sign-in error',
          `<p>${escapeHtml(String(out.error ?? 'error'))}: ${escapeHtml(String(out.error_description ?? ''))}</p>`,
        );
      },
      pkce: { required: () => true },
      interactions: {
        url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}`,
      },
      findAccount: (_ctx: KoaContextWithOIDC, sub: string) => {
        const user = bySub.get(sub);
        // A disabled user has no account: oidc-provider then refuses their refresh tokens too.
        if (user === undefined || disabled.has(sub)) return undefined;
        const groups = changedGroups.has(sub) ? changedGroups.get(sub) : user.groups;
        return {
          accountId: sub,
          claims: () => ({
            sub,
            email: user.email,
            email_verified: user.emailVerified ?? true,
            name: user.name,
            ...(groups !== undefined && { groups: [...groups] }),
          }),
        };
      },
      // First-party IdP: grant what the gateway asks for without a consent screen.
      loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
        const grantId =
          ctx.oidc.result?.consent?.grantId ??
          ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
        const grant = grantId
          ? await ctx.oidc.provider.Grant.find(grantId)
          : new ctx.oidc.provider.Grant({
              clientId: ctx.oidc.client!.clientId,
              accountId: ctx.oidc.session!.accountId!,
            });
        if (grant === undefined) return undefined;
        grant.addOIDCScope('openid offline_access email profile groups');
        grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
        await grant.save();
        return grant;
      },
      issueRefreshToken: async (_ctx: KoaContextWithOIDC, client) =>
        client.grantTypeAllowed('refresh_token'),
      acrValues: [ACR_PASSWORD, ACR_MFA],
      ttl: {
        AccessToken: options.accessTokenTtlSeconds ?? 3600,
        IdToken: 3600,
        RefreshToken: 86400,
        Session: 86400,
        Interaction: 600,
        Grant: 86400,
      },
    };
    const provider = await withoutProviderNotices(() => new Provider(issuer, configuration));
    // The provider logs "default function called" notes; they are for IdP operators, not us.
    provider.on('server_error', () => undefined);
    const providerHandler = provider.callback();

    handler = (req, res) => {
      const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(req.url ?? '');
      if (match === null) {
        if (options.tokenDelayMs !== undefined && req.url?.startsWith('/token')) {
          setTimeout(() => providerHandler(req, res), options.tokenDelayMs);
          return;
        }
        providerHandler(req, res);
        return;
      }
      void (async () => {
        try {
          const details = await provider.interactionDetails(req, res);
          if (details.uid !== match[1]) throw new Error('interaction mismatch');
          if (req.method === 'POST' && match[2] !== undefined) {
            const form = await readForm(req);
            const user = byLogin.get(form.get('username') ?? '');
            const otp = form.get('otp') ?? '';
            const otpWrong = otp !== '' && otp !== user?.otp;
            if (
              user === undefined ||
              disabled.has(user.sub) ||
              user.password !== form.get('password') ||
              otpWrong
            ) {
              res
                .writeHead(401, { 'Content-Type': 'text/html; charset=utf-8' })
                .end(loginForm(details.uid, users, 'Unknown user or wrong password.'));
              return;
            }
            await provider.interactionFinished(
              req,
              res,
              {
                login: {
                  accountId: user.sub,
                  // RFC 8176 methods; a correct one-time code is the second factor.
                  amr: otp === '' ? ['pwd'] : ['pwd', 'otp'],
                  acr: otp === '' ? ACR_PASSWORD : ACR_MFA,
                },
              },
              { mergeWithLastSubmission: false },
            );
            return;
          }
          res
            .writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
            .end(loginForm(details.uid, users));
        } catch {
          res
            .writeHead(400, { 'Content-Type': 'text/plain' })
            .end('This sign-in expired. Go back to the application and start again.');
        }
      })();
    };
  }

  return {
    issuer,
    configure,
    disable: (sub) => void disabled.add(sub),
    setGroups: (sub, groups) => void changedGroups.set(sub, groups),
    async close() {
      await Promise.all([
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
        toLoopback.destroy(),
      ]);
    },
  };
}
