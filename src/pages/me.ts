import { formatDuration } from '../lib/duration.js';
import type { Identity } from '../policy/types.js';
import { html } from './render.js';
import type { Page } from './render.js';

export interface SessionFacts {
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** GET /.ztna/me: who the gateway thinks you are, and for how long (SPEC §9). */
export function mePage(identity: Identity, session: SessionFacts, now: number): Page {
  const age = formatDuration(Math.max(0, Math.round((now - session.createdAt) / 1000) * 1000));
  const left = formatDuration(Math.max(0, Math.round((session.expiresAt - now) / 1000) * 1000));
  const groups = identity.groups?.join(', ') ?? '(none)';
  return {
    status: 200,
    title: 'Your session',
    body: html`<h1>Your session</h1>
      <table>
        <tr>
          <th>User</th>
          <td class="mono">${identity.sub}</td>
        </tr>
        <tr>
          <th>Email</th>
          <td>${identity.email ?? '(none)'}</td>
        </tr>
        <tr>
          <th>Name</th>
          <td>${identity.name ?? '(none)'}</td>
        </tr>
        <tr>
          <th>Groups</th>
          <td>${groups}</td>
        </tr>
        <tr>
          <th>Signed in</th>
          <td>${age} ago</td>
        </tr>
        <tr>
          <th>Session ends</th>
          <td>in ${left} at the latest</td>
        </tr>
      </table>
      <p><a href="/.ztna/logout">Sign out</a></p>`,
    json: {
      user: {
        sub: identity.sub,
        email: identity.email ?? null,
        name: identity.name ?? null,
        groups: identity.groups ?? null,
      },
      session: {
        created_at: new Date(session.createdAt).toISOString(),
        expires_at: new Date(session.expiresAt).toISOString(),
      },
    },
  };
}
