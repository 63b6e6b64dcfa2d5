import { formatDuration } from '../lib/duration.js';
import type { AccessRequest, Grant } from '../jit/grants.js';
import { granteeName } from '../jit/grants.js';
import type { Identity } from '../policy/types.js';
import { reasonHtml, timeHtml } from './access-offer.js';
import { html } from './render.js';
import type { Page, SafeHtml } from './render.js';

/** What /.ztna/access shows one signed-in person. */
export interface AccessView {
  readonly identity: Identity;
  /** The session's form token, for the decision forms. */
  readonly csrf: string;
  /** The person's own running grants. */
  readonly grants: readonly Grant[];
  /** The person's own requests waiting for an approver (never with decision buttons). */
  readonly ownRequests: readonly AccessRequest[];
  /** Others' requests this person may decide now (approver, with a recent second factor). */
  readonly toDecide: readonly AccessRequest[];
  /**
   * Others' requests this person may decide on another host only: the host of the route that
   * offers the grant (a link there; none for a wildcard route).
   */
  readonly decideElsewhere: readonly {
    readonly request: AccessRequest;
    readonly url: string | undefined;
  }[];
  /** The person approves some pending requests but this session has no recent second factor. */
  readonly decideNeedsMfa: boolean;
  /** A path on this host to go back to (where the person was denied), if known. */
  readonly returnTo: string | undefined;
  readonly now: number;
}

function timeLeft(expiresAt: number, now: number): string {
  return formatDuration(Math.max(0, Math.ceil((expiresAt - now) / 60_000)) * 60_000);
}

function grantRows(grants: readonly Grant[], now: number): SafeHtml {
  return html`<table>
    <tr>
      <th scope="col">Access</th>
      <th scope="col">Ends</th>
    </tr>
    ${grants.map(
      (g) =>
        html`<tr>
          <td class="mono">${g.grant}</td>
          <td>${timeHtml(g.expiresAt)} (in ${timeLeft(g.expiresAt, now)})</td>
        </tr>`,
    )}
  </table>`;
}

function ownRequestHtml(request: AccessRequest): SafeHtml {
  return html`<div class="request">
    <p>
      <span class="mono">${request.grant}</span> on ${request.route}, for
      ${formatDuration(request.durationMs)}
    </p>
    <p>Asked ${timeHtml(request.requestedAt)}: ${reasonHtml(request.reason)}</p>
    <p>Waiting for an approver.</p>
  </div>`;
}

/** One request to decide: who, what, how long, why, when; approve or reject (a POST with csrf). */
function decisionFormHtml(request: AccessRequest, csrf: string): SafeHtml {
  const who = granteeName(request.user);
  const noteId = `note-${request.id}`;
  return html`<div class="request">
    <p>
      <strong>${request.userName}</strong>${request.userName === who ? '' : html` (${who})`} asks
      for <span class="mono">${request.grant}</span> on ${request.route}, for
      ${formatDuration(request.durationMs)}.
    </p>
    <p>Asked ${timeHtml(request.requestedAt)}: ${reasonHtml(request.reason)}</p>
    <form method="post" action="/.ztna/access/decide">
      <input type="hidden" name="csrf" value="${csrf}" />
      <input type="hidden" name="id" value="${request.id}" />
      <label for="${noteId}">Why you reject it (optional, kept in the audit log)</label>
      <input type="text" id="${noteId}" name="note" maxlength="500" />
      <div class="actions">
        <button type="submit" name="decision" value="approve">Approve</button>
        <button type="submit" name="decision" value="reject" class="secondary">Reject</button>
      </div>
    </form>
  </div>`;
}

function requestJson(request: AccessRequest) {
  return {
    id: request.id,
    grant: request.grant,
    route: request.route,
    user: granteeName(request.user),
    user_name: request.userName,
    duration_s: Math.round(request.durationMs / 1000),
    reason: request.reason,
    requested_at: new Date(request.requestedAt).toISOString(),
  };
}

/** GET /.ztna/access: the person's access and requests, and what they may decide (SPEC §13). */
export function accessPage(view: AccessView): Page {
  const { grants, ownRequests, toDecide, now } = view;
  const mine =
    grants.length === 0 && ownRequests.length === 0
      ? html`<p>You hold no temporary access and have no request waiting.</p>`
      : html`${grants.length === 0 ? '' : grantRows(grants, now)} ${ownRequests.map(ownRequestHtml)}`;
  const decide = view.decideNeedsMfa
    ? html`<h2>Requests to decide</h2>
        <p class="notice">
          Some requests wait for your decision, but deciding needs a sign-in with a second factor in
          the last 10 minutes, and your last sign-in was not one. Make sure a second factor is set
          up for your account, then
          <a href="/.ztna/login?step_up=1&amp;mfa=1&amp;max_age=600&amp;rd=%2F.ztna%2Faccess"
            >sign in again</a
          >.
        </p>`
    : toDecide.length === 0
      ? ''
      : html`<h2>Requests to decide</h2>
          ${toDecide.map((request) => decisionFormHtml(request, view.csrf))}`;
  const others =
    view.decideElsewhere.length === 0
      ? ''
      : html`<h2>Requests to decide on their application</h2>
          <p>
            These are decided on the address of the application they open, so that no other
            application's page can act in your name.
          </p>
          ${view.decideElsewhere.map(
            ({ request, url }) =>
              html`<div class="request">
                <p>
                  <strong>${request.userName}</strong> asks for
                  <span class="mono">${request.grant}</span> on ${request.route}, for
                  ${formatDuration(request.durationMs)}:
                  ${
                    url === undefined
                      ? html`decide on a host of route ${request.route}.`
                      : html`<a href="${url}">decide on ${new URL(url).host}</a>.`
                  }
                </p>
              </div>`,
          )}`;
  return {
    status: 200,
    title: 'Access requests',
    body: html`<h1>Access requests</h1>
      <p>Signed in as <strong>${view.identity.email ?? view.identity.sub}</strong>.</p>
      <h2>Your access</h2>
      ${mine} ${decide} ${others}
      ${
        view.returnTo === undefined
          ? ''
          : html`<p><a href="${view.returnTo}">Back to the application</a></p>`
      }`,
    json: {
      grants: grants.map((g) => ({
        grant: g.grant,
        expires_at: new Date(g.expiresAt).toISOString(),
      })),
      requests: ownRequests.map(requestJson),
      to_decide: toDecide.map(requestJson),
      to_decide_elsewhere: view.decideElsewhere.map(({ request, url }) => ({
        ...requestJson(request),
        decide_at: url ?? null,
      })),
      decide_needs_mfa: view.decideNeedsMfa,
    },
  };
}
