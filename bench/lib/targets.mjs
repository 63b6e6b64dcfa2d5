// The targets a benchmark can put under load, shared by bench/run.mjs (every target, one after
// the other) and bench/ab.mjs (two gateway builds side by side): how each is started, what
// its load sends, and the check that it serves before it is measured.
import { Browser, signIn } from './browser.mjs';
import { startNode } from './procs.mjs';
import { BENCH_USER, upstreamBody } from './protocol.mjs';
import { HOSTS } from './stack.mjs';

const IDENTITY_HEADERS = ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-groups'];
const ASSERTION_HEADER = 'x-ztna-assertion';

/** Starts a bare proxy child for targets b, c and u. */
async function proxyTarget(stack, library) {
  const server = startNode(
    'bench/servers/proxy.mjs',
    [JSON.stringify({ library, upstream: stack.upstream.url })],
    { readyLine: true, name: library },
  );
  const { port } = await server.ready;
  return { server, port, headers: { host: HOSTS.upstream } };
}

/**
 * Signs in at `url` (sending `headers` throughout, as a device agent would) and returns the
 * load's headers: Host, the session cookie and `headers`. Stops `server` when that fails.
 */
async function signedInHeaders(server, url, headers = {}) {
  try {
    const { browser } = await signIn(url, BENCH_USER, headers);
    return { host: new URL(url).host, cookie: browser.cookieHeader(url), ...headers };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * Starts a gateway (the build `main`, by default this checkout's, as instance `instance` of the
 * stack); signs in on `host` when `session`; the load sends `headers` too.
 */
async function gatewayTarget(
  stack,
  host,
  { session = false, headers = {}, main, nodeArgs, instance = 0 } = {},
) {
  const server = await stack.startGateway({ main, nodeArgs, instance });
  const url = stack.gatewayUrl(host, '/', instance);
  return {
    server,
    port: stack.ports.instances[instance].gateway,
    headers: session
      ? await signedInHeaders(server, url, headers)
      : { host: new URL(url).host, ...headers },
  };
}

/**
 * The targets: `start(stack, build)` returns { server (the process measured), port, headers of
 * the load }; the server is stopped after the target's measurements unless `shared`. `build`
 * ({ main, nodeArgs, instance }) picks the gateway build and instance (gateway targets only).
 */
export const TARGETS = {
  a: {
    name: 'upstream (direct)',
    start: async (stack) => ({
      server: stack.upstream.handle,
      port: stack.upstream.port,
      headers: { host: HOSTS.upstream },
      shared: true,
    }),
  },
  b: { name: 'http-proxy-3 (bare)', start: (stack) => proxyTarget(stack, 'http-proxy-3') },
  c: { name: 'http-proxy 1.18 (bare)', start: (stack) => proxyTarget(stack, 'http-proxy') },
  // Not one of the targets: the floor of the gateway's own forwarding (undici's Pool).
  u: { name: 'undici Pool (bare)', start: (stack) => proxyTarget(stack, 'undici') },
  d: {
    name: 'express+oidc+hpm session',
    expect: ['x-forwarded-user'],
    async start(stack) {
      const server = await stack.startExpress();
      const headers = await signedInHeaders(server, stack.expressUrl('/'));
      return { server, port: stack.ports.express, headers };
    },
  },
  e: {
    name: 'gateway public route',
    start: (stack, build) => gatewayTarget(stack, 'public', build),
  },
  f: {
    name: 'gateway session+policy',
    expect: [...IDENTITY_HEADERS, ASSERTION_HEADER],
    start: (stack, build) => gatewayTarget(stack, 'app', { session: true, ...build }),
  },
  g: {
    name: 'gateway session+posture',
    expect: [...IDENTITY_HEADERS, ASSERTION_HEADER],
    async start(stack, build) {
      const posture = { 'x-device-posture': await stack.postureAssertion() };
      return gatewayTarget(stack, 'device', { session: true, headers: posture, ...build });
    },
  },
  h: {
    name: 'gateway bearer token',
    expect: ['x-forwarded-user', ASSERTION_HEADER],
    async start(stack, build) {
      const authorization = `Bearer ${await stack.serviceToken()}`;
      return gatewayTarget(stack, 'api', { headers: { authorization }, ...build });
    },
  },
};

/** The targets that run the gateway itself (and take a `build`). */
export const GATEWAY_TARGETS = ['e', 'f', 'g', 'h'];

/**
 * One request as the load will send it must answer 200 with the upstream's body, and the
 * upstream must have seen the identity headers: a misconfigured target fails here, loudly,
 * instead of being measured answering 302 or 403. `expect` defaults to the target's.
 */
export async function verifyTarget(id, target, expected = TARGETS[id]?.expect ?? []) {
  const client = new Browser(target.headers);
  const origin = `http://127.0.0.1:${target.port}`;
  const reply = await client.request(`${origin}/`);
  if (reply.status !== 200 || reply.text !== upstreamBody())
    throw new Error(
      `target ${id}: expected 200 with the upstream's body, got ${reply.status}: ${reply.text.slice(0, 300)}`,
    );
  if (expected.length === 0) return;
  const echo = await client.request(`${origin}/echo-headers`);
  const seen = echo.status === 200 ? JSON.parse(echo.text) : {};
  const missing = expected.filter((h) => typeof seen[h] !== 'string' || seen[h] === '');
  if (missing.length > 0)
    throw new Error(`target ${id}: the upstream did not receive ${missing.join(', ')}`);
}
