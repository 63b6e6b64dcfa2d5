import WebSocket from 'ws';
import { TestClient } from './http-client.js';
import type { Stack } from './stack.js';

/** routes.yaml with one route, app.test, that anyone signed in may use. */
export const signedInAppRoutes = (upstream: string) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
`;

/** A browser signed in as `user` through the stack's real IdP, landed on `host`. */
export async function signedIn(stack: Stack, user: string, host = 'app.test'): Promise<TestClient> {
  const client = new TestClient();
  const landed = await stack.login(client, user, stack.url(host, '/'));
  if (landed.status !== 200) throw new Error(`${user} did not sign in: ${landed.status}`);
  return client;
}

/**
 * A WebSocket opened through the gateway on `host` with `cookie`; resolves once open.
 * `closedAt` resolves with the time it closed.
 */
export function openWebSocket(
  stack: Stack,
  cookie: string,
  host = 'app.test',
): Promise<{ socket: WebSocket; closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${stack.port}/ws`, {
      headers: { host: `${host}:${stack.port}`, cookie },
    });
    const closedAt = new Promise<number>((done) => socket.once('close', () => done(Date.now())));
    socket.once('open', () => resolve({ socket, closedAt }));
    socket.once('error', reject);
  });
}

/** Signs out at the IdP itself, as a person on the IdP's own logout page would. */
export async function signOutAtIdp(stack: Stack, client: TestClient): Promise<void> {
  const page = await client.navigate(`${stack.idp.issuer}/session/end`);
  const action = /<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"/.exec(page.text)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (page.status !== 200 || action === undefined)
    throw new Error(`no logout form at the IdP: ${page.status}`);
  const confirmed = await client.request(new URL(action, stack.idp.issuer).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams({ xsrf: xsrf ?? '', logout: 'yes' }).toString(),
  });
  if (confirmed.status >= 400) throw new Error(`the IdP refused the sign-out: ${confirmed.status}`);
}
