import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { CookieJar } from 'tough-cookie';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
  /** The Location header resolved against the request URL. */
  readonly location: string | undefined;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  /** Skip the cookie jar (send exactly the given headers). */
  readonly noCookies?: boolean;
  /** Bind the client socket to this local address (e.g. 127.0.0.2 to be another peer). */
  readonly localAddress?: string;
}

/**
 * A small browser-like HTTP client for tests: every host resolves to loopback (route hosts
 * such as app.test are virtual), the Host header comes from the URL, cookies persist in a
 * real cookie jar, and redirects are never followed implicitly.
 */
export class TestClient {
  readonly jar = new CookieJar();
  /** Sent with every request (e.g. the device's X-Device-Posture, as an MDM agent would). */
  defaultHeaders: OutgoingHttpHeaders = {};
  /** The local address every request binds to unless it names one: this browser's address. */
  localAddress: string | undefined;

  /** @param ca CA certificate(s) to trust for https:// URLs (the test fixture certificate). */
  constructor(private readonly ca?: string | Buffer) {}

  async request(url: string, options: RequestOptions = {}): Promise<Reply> {
    const target = new URL(url);
    const headers: OutgoingHttpHeaders = {
      host: target.host,
      ...this.defaultHeaders,
      ...options.headers,
    };
    if (!options.noCookies) {
      const cookies = await this.jar.getCookieString(url);
      if (cookies) headers.cookie = headers.cookie ? `${headers.cookie}; ${cookies}` : cookies;
    }
    const reply = await new Promise<Reply>((resolve, reject) => {
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        {
          ...(target.protocol === 'https:' && { ca: this.ca, servername: target.hostname }),
          host: '127.0.0.1',
          port: target.port,
          path: target.pathname + target.search,
          method: options.method ?? 'GET',
          headers,
          agent: false,
          ...((options.localAddress ?? this.localAddress) !== undefined && {
            localAddress: options.localAddress ?? this.localAddress,
          }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            const text = body.toString('utf8');
            const location =
              res.headers.location === undefined
                ? undefined
                : new URL(res.headers.location, url).href;
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              text,
              json: () => JSON.parse(text),
              location,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
    if (!options.noCookies) {
      const setCookie = reply.headers['set-cookie'] ?? [];
      for (const line of setCookie) await this.jar.setCookie(line, url, { ignoreError: true });
    }
    return reply;
  }

  /** GET as a browser navigation would (Accept: text/html). */
  navigate(url: string, options: RequestOptions = {}): Promise<Reply> {
    return this.request(url, {
      ...options,
      headers: { accept: 'text/html,application/xhtml+xml', ...options.headers },
    });
  }

  /** Follows redirects like a browser until a non-redirect answer; returns every hop. */
  async follow(
    url: string,
    options: RequestOptions = {},
    maxHops = 15,
  ): Promise<{ final: Reply; hops: string[] }> {
    const hops: string[] = [url];
    let reply = await this.navigate(url, options);
    while (reply.status >= 300 && reply.status < 400 && reply.location !== undefined) {
      if (hops.length > maxHops) throw new Error(`too many redirects: ${hops.join(' -> ')}`);
      hops.push(reply.location);
      reply = await this.navigate(reply.location);
    }
    return { final: reply, hops };
  }
}
