/**
 * Names of the cookies the gateway sets. SPEC §4.3: host-only cookies on HTTPS carry the
 * `__Host-` prefix (the browser then refuses any Domain or non-/ Path for them, so a sibling
 * host cannot plant one); with a cookie domain, `__Secure-` is the strongest prefix allowed.
 *
 * The login-state cookie is host-only in every mode: the callback runs on the host the login
 * started on, and `cookie_domain` widens only the session cookie. So on HTTPS it is always
 * `__Host-`: a sibling subdomain could otherwise plant its own sealed state (a forced login).
 */
export interface CookieNames {
  session(scheme: 'http' | 'https'): string;
  loginState(scheme: 'http' | 'https', state: string): string;
  /**
   * The sealed ID token for the IdP logout (auth/logout-hint.ts). Its Path is `/.ztna/logout`,
   * so on HTTPS it is `__Secure-` (`__Host-` demands Path=/, which would send it with every
   * request); a value planted from a sibling host is sealed for another session and never used.
   */
  logoutHint(scheme: 'http' | 'https'): string;
  /** Whether a cookie name is one of ours (every variant): such cookies never reach upstreams. */
  isGatewayCookie(name: string): boolean;
}

export function createCookieNames(base: string, cookieDomain: string | undefined): CookieNames {
  const sessionHttps = cookieDomain === undefined ? `__Host-${base}` : `__Secure-${base}`;
  const loginBase = `${base}_login_`;
  const hint = `${base}_hint`;
  const fixedNames = new Set([
    base,
    sessionHttps,
    `__Host-${base}`,
    `__Secure-${base}`,
    hint,
    `__Host-${hint}`,
    `__Secure-${hint}`,
  ]);
  // Every spelling a login-state cookie may have arrived with, ours or planted: none is forwarded.
  const loginPrefixes = [loginBase, `__Host-${loginBase}`, `__Secure-${loginBase}`];
  return {
    session: (scheme) => (scheme === 'https' ? sessionHttps : base),
    // One cookie per login in flight, so two tabs signing in at once do not clobber each other.
    loginState: (scheme, state) =>
      `${scheme === 'https' ? '__Host-' : ''}${loginBase}${state.slice(0, 16)}`,
    logoutHint: (scheme) => (scheme === 'https' ? `__Secure-${hint}` : hint),
    isGatewayCookie: (name) =>
      fixedNames.has(name) || loginPrefixes.some((prefix) => name.startsWith(prefix)),
  };
}
