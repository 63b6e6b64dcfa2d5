// A small browser-like HTTP client: every host resolves to loopback (route hosts such as
// app.bench.test are virtual; the Host header comes from the URL), cookies are kept per host,
// redirects are followed only by `login`, which also fills in the embedded IdP's sign-in form.
import { request } from 'node:http';
import { progress } from './report.mjs';

function parseSetCookie(line) {
  const [pair, ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  let expired = value === '';
  for (const attribute of attributes) {
    const [key, val = ''] = attribute.split('=');
    const k = key.trim().toLowerCase();
    if (k === 'max-age' && Number(val) <= 0) expired = true;
    if (k === 'expires' && Date.parse(val) <= Date.now()) expired = true;
  }
  return { name, value, expired };
}

export class Browser {
  /** @param defaultHeaders sent with every request (e.g. a device's X-Device-Posture). */
  constructor(defaultHeaders = {}) {
    this.defaultHeaders = defaultHeaders;
    /** hostname -> Map(cookie name -> value) */
    this.jar = new Map();
    /** Requests sent so far. */
    this.requests = 0;
  }

  /** The Cookie header this browser sends to `url`'s host ('' when none). */
  cookieHeader(url) {
    const cookies = this.jar.get(new URL(url).hostname);
    return cookies === undefined ? '' : [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  cookie(url, name) {
    return this.jar.get(new URL(url).hostname)?.get(name);
  }

  /** One request; resolves with { status, headers, body (Buffer), text, location }. */
  request(url, { method = 'GET', headers = {}, body } = {}) {
    const target = new URL(url);
    const all = { host: target.host, ...this.defaultHeaders, ...headers };
    const cookie = this.cookieHeader(url);
    if (cookie !== '') all.cookie = cookie;
    if (body !== undefined) all['content-length'] = Buffer.byteLength(body);
    this.requests += 1;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: target.port,
          path: target.pathname + target.search,
          method,
          headers: all,
          agent: false,
        },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            this.remember(target.hostname, res.headers['set-cookie']);
            const buffer = Buffer.concat(chunks);
            resolve({
              status: res.statusCode,
              headers: res.headers,
              body: buffer,
              text: buffer.toString('utf8'),
              location:
                res.headers.location === undefined
                  ? undefined
                  : new URL(res.headers.location, url).href,
            });
          });
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  remember(hostname, setCookies = []) {
    let cookies = this.jar.get(hostname);
    if (cookies === undefined) this.jar.set(hostname, (cookies = new Map()));
    for (const line of setCookies) {
      const { name, value, expired } = parseSetCookie(line);
      if (expired) cookies.delete(name);
      else cookies.set(name, value);
    }
  }

  /**
   * Signs in like a person: follows redirects from `url` through the IdP, fills in its form
   * with `user`'s credentials, and back through the app's callback. Resolves with the first
   * answer that is not a redirect (the app's page), and throws when there is none.
   */
  async login(url, user) {
    const html = { accept: 'text/html' };
    let reply = await this.request(url, { headers: html });
    for (let hop = 0; hop < 20; hop++) {
      if (reply.status < 300 || reply.status >= 400 || reply.location === undefined) return reply;
      const next = reply.location;
      reply = await this.request(next, { headers: html });
      if (reply.status === 200 && /\/interaction\/[\w-]+$/.test(new URL(next).pathname)) {
        reply = await this.request(`${next}/login`, {
          method: 'POST',
          headers: { ...html, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            username: user.username,
            password: user.password,
            otp: '',
          }).toString(),
        });
      }
    }
    throw new Error(`login from ${url} did not finish within 20 redirects`);
  }
}

/**
 * A fresh browser (sending `headers` everywhere) signed in as `user` from `url`; throws
 * unless the sign-in ends on the app's 200 page.
 */
export async function signIn(url, user, headers = {}) {
  // A 503 (the IdP or the store did not answer in time) is what a saturated 2-core machine
  // gives now and then, e.g. when the bench smoke test shares it with the test suite: a bench
  // measures speed, not sign-in under contention, so it tries again a couple of times.
  for (let attempt = 1; ; attempt++) {
    const browser = new Browser(headers);
    const reply = await browser.login(url, user);
    if (reply.status === 200) return { browser, reply };
    if (reply.status !== 503 || attempt === 3)
      throw new Error(
        `sign-in from ${url} ended with ${reply.status}: ${reply.text.slice(0, 300)}`,
      );
    progress(`  sign-in from ${url} answered 503 (attempt ${attempt}); trying again`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
