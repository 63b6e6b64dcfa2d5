import { describe, expect, test } from '@jest/globals';
import type { IncomingHttpHeaders } from 'node:http';
import { responseHeaderPairs, stripClientHeaders, toHeaderValue } from './strip-headers.js';

const isGatewayCookie = (name: string) =>
  name === 'ztna_session' || name.startsWith('ztna_session_login_');

describe('stripClientHeaders', () => {
  test('removes identity, forwarding, owned-prefix and hop-by-hop headers in any spelling', () => {
    const headers: IncomingHttpHeaders = {
      host: 'wiki',
      accept: 'text/html',
      'x-forwarded-user': 'ceo',
      x_forwarded_email: 'ceo@corp.example',
      'x-ztna-assertion': 'forged',
      'x-ztna_assertion': 'forged',
      'x-device-managed': 'true',
      'x-forwarded-for': '1.1.1.1',
      forwarded: 'for=1.1.1.1',
      'x-original-url': '/admin',
      'x-rewrite-url': '/admin',
      connection: 'close, x-custom',
      'x-custom': '1',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      upgrade: 'h2c',
      expect: '100-continue',
    };
    stripClientHeaders(headers, { upgrade: false, isGatewayCookie });
    expect(headers).toEqual({ host: 'wiki', accept: 'text/html' });
  });

  test('Connection: keep-alive (skipped as naming nothing) still strips everything else, and any other spelling is read', () => {
    const plain: IncomingHttpHeaders = {
      host: 'wiki',
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'x-ztna-user': 'ceo',
      remote_user: 'ceo',
      'x-forwarded-email': 'ceo@corp.example',
    };
    stripClientHeaders(plain, { upgrade: false, isGatewayCookie });
    expect(plain).toEqual({ host: 'wiki' });
    for (const connection of [
      'keep-alive, x-secret-hop',
      'Keep-Alive,X-Secret-Hop',
      'x-secret-hop',
    ]) {
      const headers: IncomingHttpHeaders = { host: 'wiki', connection, 'x-secret-hop': '1' };
      stripClientHeaders(headers, { upgrade: false, isGatewayCookie });
      expect(headers).toEqual({ host: 'wiki' });
    }
  });

  test("removes other auth proxies' identity headers, client-IP headers and method overrides", () => {
    // Node lower-cases names; `_` is read as `-`. Several are prefixes: any suffix goes.
    const spoofed = [
      'remote-user',
      'remote-email',
      'remote_groups',
      'remote-name',
      'x-webauth-user',
      'x_webauth_role',
      'x-auth-request-email',
      'x-auth-request-preferred-username',
      'x-auth_request-groups',
      'x-goog-authenticated-user-email',
      'x-goog-authenticated-user-id',
      'cf-access-authenticated-user-email',
      'cf-access-jwt-assertion',
      'cf_access_client_id',
      'x-amzn-oidc-identity',
      'x-amzn-oidc-data',
      'x-amzn_oidc_accesstoken',
      'x-authenticated-userid',
      'x_authenticated_userid',
      'x-real-ip',
      'x_real_ip',
      'true-client-ip',
      'cf-connecting-ip',
      'x-http-method-override',
      'x_http_method_override',
      'x-http-method',
      'x-method-override',
    ];
    const headers: IncomingHttpHeaders = { host: 'wiki', accept: 'text/html' };
    for (const name of spoofed) headers[name] = 'forged';
    stripClientHeaders(headers, { upgrade: false, isGatewayCookie });
    expect(headers).toEqual({ host: 'wiki', accept: 'text/html' });
  });

  test('leaves look-alike application headers alone', () => {
    const headers: IncomingHttpHeaders = {
      'x-remote-addr-note': '1',
      'x-auth-token': 'app',
      'x-http-version': '1.1',
      'x-amzn-trace-id': 'Root=1',
      'cf-ray': 'abc',
    };
    stripClientHeaders(headers, { upgrade: false, isGatewayCookie });
    expect(Object.keys(headers).sort()).toEqual(
      ['cf-ray', 'x-amzn-trace-id', 'x-auth-token', 'x-http-version', 'x-remote-addr-note'].sort(),
    );
  });

  test('keeps the upgrade handshake for WebSockets', () => {
    const headers: IncomingHttpHeaders = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'k',
    };
    stripClientHeaders(headers, { upgrade: true, isGatewayCookie });
    expect(headers).toEqual({
      connection: 'upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'k',
    });
  });

  test('re-frames a chunked body explicitly', () => {
    const headers: IncomingHttpHeaders = { 'transfer-encoding': 'chunked' };
    stripClientHeaders(headers, { upgrade: false, isGatewayCookie });
    expect(headers['transfer-encoding']).toBe('chunked');
  });

  test('drops only the gateway cookies, leaving the others byte for byte', () => {
    const headers: IncomingHttpHeaders = {
      cookie: 'a=1; ztna_session=s%3Aabc; b="x y"; ztna_session_login_AAAA=zzz',
    };
    stripClientHeaders(headers, { upgrade: false, isGatewayCookie });
    expect(headers.cookie).toBe('a=1; b="x y"');
    const only: IncomingHttpHeaders = { cookie: 'ztna_session=x' };
    stripClientHeaders(only, { upgrade: false, isGatewayCookie });
    expect(only.cookie).toBeUndefined();
  });
});

describe('responseHeaderPairs (raw heads: undici answers, WebSocket 101s)', () => {
  test('drops hop-by-hop, Connection-named, gateway and nameless Set-Cookies; keeps repeats', () => {
    const raw = [
      'Content-Type',
      'text/plain',
      'Connection',
      'keep-alive, X-Hop',
      'X-Hop',
      '1',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'Set-Cookie',
      'ztna_session=evil; Path=/',
      'Set-Cookie',
      '=ztna_session=s%3Aplanted.sig; Path=/',
      'Set-Cookie',
      'ztna_session; Path=/',
      'Set-Cookie',
      'app=1',
      'Set-Cookie',
      'pref=dark',
    ].map((text) => Buffer.from(text, 'latin1'));
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual([
      'Content-Type',
      'text/plain',
      'Set-Cookie',
      'app=1',
      'Set-Cookie',
      'pref=dark',
    ]);
  });
  test('a header named in a second Connection line is dropped too, before or after it', () => {
    const raw = [
      'X-Early',
      'a',
      'Connection',
      'keep-alive',
      'X-Kept',
      'b',
      'Connection',
      'X-Early, x-late',
      'X-Late',
      'c',
    ].map((text) => Buffer.from(text, 'latin1'));
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual(['X-Kept', 'b']);
  });

  test('a Connection-named header goes whether it is spelt with _ or -, as in requests', () => {
    const raw = ['Connection', 'x_one, X-Two', 'X-One', '1', 'X_Two', '2', 'X_Three', '3'];
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual(['X_Three', '3']);
  });

  test("an upstream's cookie for the gateway's own pages (Path under /.ztna) is dropped", () => {
    const planted = [
      'pad=xxxx; Path=/.ztna/logout',
      'pad=xxxx; HttpOnly; path=/.ztna',
      'pad=xxxx; PATH = /.ZTNA/callback; Secure',
      'pad=xxxx; Path=/%2Eztna/login',
      'pad=xxxx; Path=/app; Path=/.ztna/logout',
    ];
    const kept = ['app=1; Path=/', 'app=2; Path=/reports/.ztna', 'app=3', 'ztna=4; Path=/x'];
    const raw = [...planted, ...kept].flatMap((line) => ['Set-Cookie', line]);
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual(
      kept.flatMap((line) => ['Set-Cookie', line]),
    );
  });

  test('an upstream cannot have the browser delete cookies (Clear-Site-Data), only its cache or storage', () => {
    const raw = [
      'Clear-Site-Data',
      '"cookies"',
      'clear-site-data',
      '"*"',
      'CLEAR-SITE-DATA',
      '"cache", "COOKIES"',
      'Clear-Site-Data',
      'cookies',
      // Firefox strips whitespace inside a directive before comparing it.
      'Clear-Site-Data',
      '"cook ies"',
      'Clear-Site-Data',
      '"c o o k i e s"',
      'Clear-Site-Data',
      '"coo\tkies"',
      'Clear-Site-Data',
      '"cache", "cook ies"',
      'Clear-Site-Data',
      '"cache", "storage"',
      'X-App',
      'y',
    ];
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual([
      'Clear-Site-Data',
      '"cache", "storage"',
      'X-App',
      'y',
    ]);
  });

  test('a Set-Cookie line that a comma-splitting client would read as a gateway cookie is dropped', () => {
    const raw = [
      ...['Set-Cookie', 'a=1, ztna_session=evil; Path=/'],
      ...['Set-Cookie', 'a=1,ztna_session_login_x=evil'],
      ...['Set-Cookie', 'app=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/'],
      ...['Set-Cookie', 'a=1, b=2; Path=/'],
    ];
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual([
      ...['Set-Cookie', 'app=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/'],
      ...['Set-Cookie', 'a=1, b=2; Path=/'],
    ]);
  });

  test('nor a nameless cookie behind a comma, which such a client sends back as its value', () => {
    // `=ztna_session=x` is kept with an empty name and sent back as `ztna_session=x`; a bare
    // `ztna_session` as a cookie named by its value (attack review).
    const raw = [
      ...['Set-Cookie', 'a=1, =ztna_session=evil; Path=/app'],
      ...['Set-Cookie', 'a=1, = ztna_session=evil'],
      ...['Set-Cookie', ',=ztna_session_login_x=evil'],
      ...['Set-Cookie', 'a=1; Path=/, =ztna_session=evil; Path=/'],
      ...['Set-Cookie', 'a=1, ztna_session; Path=/'],
      ...['Set-Cookie', 'app=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/'],
    ];
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual([
      ...['Set-Cookie', 'app=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/'],
    ]);
  });

  test('nor a gateway cookie behind a NEL, which Python’s cookie jar trims like a space', () => {
    // Python's http.cookiejar (under `requests`) strips U+0085 around names and values: it
    // stored `\x85ztna_session=evil` as `ztna_session` and sent it back (attack review).
    const raw = [
      ...['Set-Cookie', '\x85ztna_session=evil; Path=/'],
      ...['Set-Cookie', 'a=1, \x85ztna_session=evil'],
      ...['Set-Cookie', 'ztna_session\x85 =evil; Path=/; Secure'],
      ...['Set-Cookie', 'a=1; Path=\x85/.ztna'],
      ...['Set-Cookie', 'caf\xe9=1; Path=/'],
    ];
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual([
      ...['Set-Cookie', 'caf\xe9=1; Path=/'],
    ]);
  });

  test('nor a gateway cookie that some other client finds elsewhere in the line', () => {
    // Attack review: each of these planted the session, or a cookie only for the gateway's
    // pages, in some cookie client other than a browser.
    const raw = [
      // httpx reads headers as UTF-8 and its cookie jar strips Unicode spaces: U+3000, U+00A0.
      ...['Set-Cookie', '\xe3\x80\x80ztna_session=evil; Path=/'],
      ...['Set-Cookie', '\xc2\xa0ztna_session=evil'],
      ...['Set-Cookie', 'a=1; Path=\xe3\x80\x80/.ztna'],
      // aiohttp and SimpleCookie read a second cookie after `;` or a space.
      ...['Set-Cookie', 'a=1; ztna_session=evil'],
      ...['Set-Cookie', 'a=1 ztna_session=evil'],
      // Java's HttpCookie drops a leading `set-cookie:` and reads Set-Cookie2 as well.
      ...['Set-Cookie', 'set-cookie:ztna_session=evil'],
      ...['Set-Cookie2', 'ztna_session="evil"; Version=1'],
      // aiohttp, Java and curl unquote a Path.
      ...['Set-Cookie', 'a=1; Path="/.ztna"'],
      ...['Set-Cookie', "a=1; Path='/.ztna'"],
      // The price: an app cookie whose value merely mentions a gateway cookie goes too.
      ...['Set-Cookie', 'note=ztna_session; Path=/'],
      ...['Set-Cookie2', 'app="1"; Version=1'],
      ...['Set-Cookie', 'theme=dark; Path=/app; Max-Age=60; SameSite=Lax'],
    ];
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual([
      ...['Set-Cookie2', 'app="1"; Version=1'],
      ...['Set-Cookie', 'theme=dark; Path=/app; Max-Age=60; SameSite=Lax'],
    ]);
  });

  test('nor a cookie that some client would send to the gateway’s pages only', () => {
    // Attack review: aiohttp and SimpleCookie split attributes at whitespace too; Java's
    // cookie manager matches a Path as a plain prefix, so `/.ztn` reaches `/.ztna/login`.
    const raw = [
      ...['Set-Cookie', 'big=/xxxx Path=/.ztna'],
      ...['Set-Cookie', 'big=/xxxx\tPath=/.ztna'],
      ...['Set-Cookie', 'a=%2Fx Path=/.ztna'],
      ...['Set-Cookie', 'a="x;/" Path=/.ztna'],
      ...['Set-Cookie', 'a=1; Comment=/ Path=/.ztna'],
      ...['Set-Cookie', 'big=1; Path=/.ztn'],
      ...['Set-Cookie', 'big=1; Path=/.z'],
      ...['Set-Cookie', 'big=1; Path="/.ztn"'],
      // SimpleCookie undoes backslash escapes in a quoted value.
      ...['Set-Cookie', 'big=1; Path="\\057.ztna"'],
      ...['Set-Cookie', 'big=1; Path="/\\056ztna"'],
      ...['Set-Cookie', 'big=1; Path="\\/.ztna"'],
      ...['Set-Cookie', 'a=1; Path=/'],
      ...['Set-Cookie', 'a=1; Path=/docs/a.ztna; Domain=corp.example'],
    ];
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual([
      ...['Set-Cookie', 'a=1; Path=/'],
      ...['Set-Cookie', 'a=1; Path=/docs/a.ztna; Domain=corp.example'],
    ]);
  });

  test('Connection: keep-alive alone names nothing: every other header passes', () => {
    const raw = ['Connection', 'keep-alive', 'Content-Length', '2', 'X-App', 'y'];
    expect(responseHeaderPairs(raw, isGatewayCookie)).toEqual([
      'Content-Length',
      '2',
      'X-App',
      'y',
    ]);
  });
});

describe('toHeaderValue', () => {
  test('keeps printable ASCII and percent-encodes the rest', () => {
    expect(toHeaderValue('alice@corp.example')).toBe('alice@corp.example');
    expect(toHeaderValue('Développeurs')).toBe('D%C3%A9veloppeurs');
    expect(toHeaderValue('a\r\nX-Injected: 1')).toBe('a%0D%0AX-Injected: 1');
  });
});
