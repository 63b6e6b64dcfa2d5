import type { IncomingHttpHeaders } from 'node:http';
import { removeCookies } from '../lib/cookie-header.js';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the non-standard ones proxies still see. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Headers an upstream might believe, so a client may never send them (SPEC §8): the gateway's
 * identity headers and those of oauth2-proxy and Kong, forwarding information the gateway sets
 * itself, client-IP headers (an app logging or rate-limiting by them would take the client's
 * word), method overrides (an app that honours them would run a POST sent as a GET, past
 * `methods:` sub-rules), URL-override headers, and `Expect` (Node answers 100-continue here).
 */
const CLIENT_FORBIDDEN = new Set([
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-remote-user',
  'x-authenticated-userid',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-uri',
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'cf-connecting-ip',
  // Client addresses other frameworks read first (request-ip reads X-Client-IP before all).
  'x-client-ip',
  'x-cluster-client-ip',
  'fastly-client-ip',
  'forwarded-for',
  'x-forwarded',
  // Schemes Rack and others believe over X-Forwarded-Proto: an app on plain HTTP behind the
  // gateway must not be told by the client that it runs on HTTPS (cookies, redirects).
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'front-end-https',
  'x-url-scheme',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-url',
  'x-original-uri',
  'x-original-host',
  'x-rewrite-url',
  'x-request-id',
  'expect',
]);

/**
 * Prefixes stripped outright: the gateway's own (SPEC §8), and the identity headers of other
 * common auth proxies an upstream may have been set up to trust: Apache/Authelia (`Remote-*`),
 * Grafana (`X-WEBAUTH-*`), oauth2-proxy (`X-Auth-Request-*`), Google IAP
 * (`X-Goog-Authenticated-User-*`), Cloudflare Access (`Cf-Access-*`) and AWS ALB
 * (`X-Amzn-Oidc-*`).
 */
const FORBIDDEN_PREFIXES = [
  'x-ztna-',
  'x-device-',
  'remote-',
  'x-webauth-',
  'x-auth-request-',
  'x-goog-authenticated-user-',
  'cf-access-',
  'x-amzn-oidc-',
];
/** FORBIDDEN_PREFIXES as one test per header name (names are lower-case, plain letters). */
const FORBIDDEN_PREFIX = new RegExp(`^(?:${FORBIDDEN_PREFIXES.join('|')})`);

/**
 * Compares header names the way a lenient upstream would: case-insensitively (Node already
 * lower-cases) and with `_` read as `-`, so `X_Forwarded_Email` cannot slip through to a
 * server (nginx, CGI, WSGI) that folds underscores into dashes.
 */
function normalizeName(name: string): string {
  return name.includes('_') ? name.replaceAll('_', '-') : name;
}

const NO_TOKENS: ReadonlySet<string> = new Set();

function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  const text = Array.isArray(value) ? value.join(',') : value;
  // Nearly every message says `keep-alive` (requests as a string, upstream answers as a list of
  // one), which names only a header stripped anyway (it is hop-by-hop): no Set is built for it.
  if (text === undefined || text === 'keep-alive') return NO_TOKENS;
  const tokens = new Set<string>();
  for (const token of text.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') tokens.add(normalizeName(name));
  }
  return tokens;
}

export interface StripOptions {
  /** True for a WebSocket upgrade: `Connection: upgrade` and `Upgrade` must survive. */
  readonly upgrade: boolean;
  /**
   * True when the forwarding client frames the body itself (undici sends a streamed body of
   * unknown length chunked, and refuses a `Transfer-Encoding` header).
   */
  readonly clientFramesBody?: boolean;
  /** Extra header names (lower-case) to strip: the route's own identity header names. */
  readonly alsoStrip?: ReadonlySet<string>;
  readonly isGatewayCookie: (name: string) => boolean;
}

/**
 * Removes from a client request, in place, every header the upstream must not receive from
 * the client (SPEC §8): hop-by-hop headers and those the client's `Connection` names,
 * identity, client-IP, method-override and forwarding headers, everything under the
 * forbidden prefixes, and the gateway's own cookies. Returns nothing; the caller then sets the
 * trusted values. This runs before the gateway sets anything, so a header the client names in
 * `Connection` (`Connection: close, X-Forwarded-Email`) only ever removes the client's own
 * copy, never the value the gateway sets.
 */
export function stripClientHeaders(headers: IncomingHttpHeaders, options: StripOptions): void {
  const named = connectionTokens(headers.connection);
  const chunked = headers['transfer-encoding'] !== undefined;
  for (const key of Object.keys(headers)) {
    const name = normalizeName(key);
    if (
      HOP_BY_HOP.has(name) ||
      CLIENT_FORBIDDEN.has(name) ||
      named.has(name) ||
      options.alsoStrip?.has(name) ||
      FORBIDDEN_PREFIX.test(name)
    ) {
      delete headers[key];
    }
  }
  if (options.upgrade) {
    headers.connection = 'upgrade';
    headers.upgrade = 'websocket';
  }
  // Node decoded the client's chunked body; say so again, explicitly, so the body stays framed
  // for every method (without it, Node would send a GET body unframed: request smuggling).
  if (chunked && options.clientFramesBody !== true) headers['transfer-encoding'] = 'chunked';
  if (headers.cookie !== undefined) {
    const rest = removeCookies(headers.cookie, options.isGatewayCookie);
    if (rest === undefined) delete headers.cookie;
    else headers.cookie = rest;
  }
}

/**
 * Whether an upstream's Set-Cookie may reach the client: not when it names no cookie, and not
 * when it mentions a gateway cookie's name or the gateway's pages anywhere in the line.
 * - Anywhere, because cookie clients disagree on where a cookie starts and what its name is.
 *   Browsers keep `=ztna_session=…` as a nameless cookie and send it back as `ztna_session=…`
 *   (RFC 6265bis §5.6); some split a line at commas (`a=1, ztna_session=…`); Python's cookie
 *   jar trims NEL and, read as UTF-8 (httpx), any Unicode space around a name; aiohttp and
 *   SimpleCookie take `a=1; ztna_session=…` as two cookies; Java drops a leading `set-cookie:`.
 *   Judged name by name, each of those planted the gateway's session in some client.
 * - A cookie whose Path is under `/.ztna` is sent only to the gateway's sign-in, callback and
 *   sign-out pages, never back to the app: a few large ones make those pages answer 431 while
 *   the app works on, which keeps people from signing out or in again. Clients that unquote a
 *   Path or trim more around it see `/.ztna` where a Path check would not.
 * An app cookie whose value merely mentions a gateway cookie's name, or starts with `/.ztna`,
 * is dropped too: the price of not depending on any one client's parser. This closes the header channel only:
 * script an app serves on the same origin can still write such cookies.
 */
function mayPassSetCookie(line: string, isGatewayCookie: (name: string) => boolean): boolean {
  if (cookieNameOf(line) === '') return false;
  for (const word of line.match(NAME_CHARACTERS) ?? []) if (isGatewayCookie(word)) return false;
  return !mentionsGatewayPages(line);
}

/** Runs of the characters a gateway cookie's name is made of (`session.cookie_name`, prefixes). */
const NAME_CHARACTERS = /[A-Za-z0-9_-]+/g;

/** The name a Set-Cookie line sets: before the first `=` of its first pair, '' for none. */
function cookieNameOf(line: string): string {
  const end = line.indexOf(';');
  const pair = end === -1 ? line : line.slice(0, end);
  const eq = pair.indexOf('=');
  return eq === -1 ? '' : pair.slice(0, eq).trim();
}

/** A backslash escape as Python's SimpleCookie undoes it: three octal digits, or any character. */
const BACKSLASH_ESCAPE = /\\([0-3][0-7]{2}|.)/g;

/**
 * Whether a piece of a Set-Cookie line holds a path that reaches the gateway's pages and not
 * the app's, in any case, as written or percent-decoded once:
 * - pieces are split at `;` and at whitespace, since aiohttp and SimpleCookie take
 *   `a=/x Path=/.ztna` as a Path attribute; each is decoded on its own, so one malformed escape
 *   cannot hide another;
 * - a piece's path is judged from its first `/`, so that what a client trims or unquotes before
 *   it (`Path="/.ztna"`, a Unicode space) cannot hide it, after backslash escapes are undone;
 * - a path under `/.ztna`, or one that `/.ztna` extends (`/.ztn`), which Java's cookie manager
 *   matches as a plain prefix.
 */
function mentionsGatewayPages(line: string): boolean {
  return line.split(/[;\s]/).some((piece) => {
    let text = piece;
    try {
      text = decodeURIComponent(piece);
    } catch {
      // Not valid percent-encoding: judged as written.
    }
    // SimpleCookie (older aiohttp) unescapes a quoted value: `"\057.ztna"` is `/.ztna` there.
    text = text.replace(BACKSLASH_ESCAPE, (_, escaped: string) =>
      escaped.length === 3 ? String.fromCharCode(parseInt(escaped, 8)) : escaped,
    );
    const slash = text.indexOf('/');
    if (slash === -1) return false;
    const path = text
      .slice(slash)
      .replace(/["']+$/, '')
      .toLowerCase();
    return path.startsWith('/.ztna') || (path.length > 1 && '/.ztna'.startsWith(path));
  });
}

/**
 * Whether a Clear-Site-Data value would have the browser delete cookies (`"cookies"`, or `"*"`
 * for everything): the gateway's, HttpOnly ones included, would go with the app's. The session
 * would live on at the gateway and the IdP, and the person's next sign-out would go without the
 * logout hint. An app clearing only its cache or storage keeps the header.
 */
function clearsCookies(value: string): boolean {
  // Firefox deletes every whitespace character in a directive before it compares it, so
  // `"cook ies"` clears cookies there. Quotes go too: browsers want the directives quoted, and
  // an unquoted one is refused here as well, not relied upon.
  return value.split(',').some((directive) => {
    const bare = directive.replace(/[\s"]/g, '').toLowerCase();
    return bare === 'cookies' || bare === '*';
  });
}

/**
 * An upstream response's headers for the client, from raw pairs (`[name, value, …]`, as undici
 * and `IncomingMessage.rawHeaders` give them), as a flat list for `writeHead`: without
 * hop-by-hop headers (and those the upstream's `Connection` names) and without any Set-Cookie
 * for a gateway cookie, so an upstream can never plant or clear the gateway's session.
 * Repeated headers stay repeated; nothing is parsed into an object per response.
 */
export function responseHeaderPairs(
  raw: readonly (string | Buffer)[],
  isGatewayCookie: (name: string) => boolean,
): string[] {
  const out: string[] = [];
  let connection: string[] | undefined;
  // Each name and value is made a string once (undici hands over Buffers).
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const key = name.toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    if (key === 'connection') (connection ??= []).push(value);
    if (HOP_BY_HOP.has(key)) continue;
    // Set-Cookie2 is obsolete (RFC 6265), but Java's cookie manager still reads it.
    if (
      (key === 'set-cookie' || key === 'set-cookie2') &&
      !mayPassSetCookie(value, isGatewayCookie)
    )
      continue;
    if (key === 'clear-site-data' && clearsCookies(value)) continue;
    out.push(name, value);
  }
  // Headers the upstream's `Connection` names are hop-by-hop too (RFC 9110 §7.6.1).
  const named = connectionTokens(connection);
  if (named.size === 0) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2)
    if (!named.has(normalizeName(out[i]!.toLowerCase()))) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

/**
 * A header value Node will accept and no upstream can misparse: printable ASCII is kept,
 * anything else (non-ASCII names, control characters) becomes its UTF-8 bytes percent-encoded.
 */
export function toHeaderValue(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  return text.replace(/[^\x20-\x7e]/gu, (c) =>
    Array.from(
      Buffer.from(c, 'utf8'),
      (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    ).join(''),
  );
}
