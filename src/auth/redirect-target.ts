import { canonicalizeHost, canonicalizeTarget } from '../routing/canonicalize.js';

/** Where the client is now; relative redirect targets resolve against it. */
export interface RedirectBase {
  readonly scheme: 'http' | 'https';
  readonly authority: string;
}

const MAX_LENGTH = 2048;

/** Controls, spaces, backslashes and anything non-ASCII (homoglyph hosts) are never accepted. */
function hasUnsafeCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f || code === 0x5c) return true;
  }
  return false;
}

/**
 * Turns a client-supplied `rd` into an absolute URL on one of the gateway's own hosts, or
 * undefined (SPEC §9: no open redirects). Accepted: a path on the current host, or an http(s)
 * URL whose host has a route. The result is rebuilt from canonical parts, so what the browser
 * follows is exactly what was checked: no `//host`, `/\host`, userinfo, tabs or encoded tricks.
 */
export function resolveRedirectTarget(
  rd: unknown,
  base: RedirectBase,
  isGatewayHost: (host: string) => boolean,
): string | undefined {
  if (typeof rd !== 'string' || rd.length === 0 || rd.length > MAX_LENGTH) return undefined;
  // Browsers drop tabs and newlines and read `\` as `/` inside URLs: refuse them outright.
  if (hasUnsafeCharacter(rd)) return undefined;

  if (rd.startsWith('/')) {
    if (rd.startsWith('//')) return undefined;
    const target = canonicalizeTarget(rd);
    return target.ok
      ? `${base.scheme}://${base.authority}${target.target.path}${target.target.query}`
      : undefined;
  }

  const url = URL.parse(rd);
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
  // `https:evil.example` parses as https://evil.example/: demand the slashes a real URL has.
  if (!rd.toLowerCase().startsWith(`${url.protocol}//`)) return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  // Never downgrade: from an https page only https targets.
  if (base.scheme === 'https' && url.protocol !== 'https:') return undefined;
  const host = canonicalizeHost(url.host);
  if (host === undefined || !isGatewayHost(host.host)) return undefined;
  // The path and query as written (after `scheme://authority`), canonicalized like a request.
  const afterAuthority = rd.slice(url.protocol.length + 2);
  const pathStart = afterAuthority.search(/[/?]/);
  const rawTarget = pathStart === -1 ? '/' : afterAuthority.slice(pathStart);
  const target = canonicalizeTarget(rawTarget.startsWith('?') ? `/${rawTarget}` : rawTarget);
  if (!target.ok) return undefined;
  return `${url.protocol}//${host.authority}${target.target.path}${target.target.query}`;
}
