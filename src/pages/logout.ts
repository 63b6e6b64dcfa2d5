import type { Identity } from '../policy/types.js';
import { html } from './render.js';
import type { Page } from './render.js';

/** GET /.ztna/logout: a confirm page. Sign-out is a POST with a CSRF token (SPEC §9). */
export function logoutConfirmPage(identity: Identity, csrf: string): Page {
  return {
    status: 200,
    title: 'Sign out',
    body: html`<h1>Sign out?</h1>
      <p>You are signed in as <strong>${identity.email ?? identity.sub}</strong>.</p>
      <form method="post" action="/.ztna/logout">
        <input type="hidden" name="csrf" value="${csrf}" /><button type="submit">Sign out</button>
      </form>`,
    json: { signed_in: true, logout: 'POST /.ztna/logout with the csrf form field' },
  };
}

export function signedOutPage(): Page {
  return {
    status: 200,
    title: 'Signed out',
    body: html`<h1>You are signed out</h1>
      <p><a class="button" href="/.ztna/login?rd=%2F">Sign in again</a></p>`,
    json: { signed_in: false },
  };
}
