import { formatDuration } from '../lib/duration.js';
import { MIN_REQUEST_DURATION_MS } from '../jit/access-forms.js';
import { MAX_REASON_LENGTH } from '../jit/free-text.js';
import type { AccessOffer } from '../jit/offer.js';
import { html } from './render.js';
import type { SafeHtml } from './render.js';

/** The durations a person picks from: the usual ones up to the offer's maximum, and the maximum. */
const USUAL_DURATIONS_MS = [15, 30, 60, 120, 240, 480, 720].map((minutes) => minutes * 60_000);

// Attributes without a value: fixed markup, never built from input.
const SELECTED: SafeHtml = { __html: 'selected' };
const REQUIRED: SafeHtml = { __html: 'required' };
const NOTHING: SafeHtml = { __html: '' };

/** The choices of the duration control, shortest first; never above `maxMs`, always `maxMs`. */
export function durationChoices(maxMs: number): number[] {
  const usual = USUAL_DURATIONS_MS.filter((ms) => ms >= MIN_REQUEST_DURATION_MS && ms < maxMs);
  return [...usual, maxMs];
}

/** The choice selected at first: an hour when offered, else the longest one below it. */
function defaultChoice(choices: readonly number[]): number {
  return choices.filter((ms) => ms <= 3_600_000).at(-1) ?? choices[0]!;
}

/** A point in time for pages: `<time>` with the exact instant, shown in UTC to the minute. */
export function timeHtml(ms: number): SafeHtml {
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/** A reason as people gave it, or that none was given. */
export function reasonHtml(reason: string): SafeHtml {
  return reason === '' ? html`<em>no reason given</em>` : html`“${reason}”`;
}

/** The person's request, waiting: since when, for how long, why; where to follow it. */
function pendingHtml(access: AccessOffer): SafeHtml {
  const request = access.pending!;
  return html`<div class="notice">
    <p>
      You asked for access (<span class="mono">${request.grant}</span>) on
      ${timeHtml(request.requestedAt)}, for ${formatDuration(request.durationMs)}:
      ${reasonHtml(request.reason)}.
    </p>
    <p>Your request is waiting for an approver. Once it is approved, reload this page.</p>
    <p><a href="/.ztna/access">See your requests</a></p>
  </div>`;
}

/** The "Request access" form: a POST with the session's form token (SPEC §13). */
function requestFormHtml(access: AccessOffer): SafeHtml {
  const { offer } = access;
  const choices = durationChoices(offer.maxDurationMs);
  const selected = defaultChoice(choices);
  const options = choices.map(
    (ms) =>
      html`<option value="${formatDuration(ms)}" ${ms === selected ? SELECTED : NOTHING}>
        ${formatDuration(ms)}
      </option>`,
  );
  return html`<h2>Request access</h2>
    <p>
      You can ask for temporary access. An approver decides; it ends by itself after the time you
      choose (at most ${formatDuration(offer.maxDurationMs)}).
    </p>
    <form method="post" action="/.ztna/access/request">
      <input type="hidden" name="csrf" value="${access.csrf}" />
      <input type="hidden" name="grant" value="${offer.grant}" />
      <input type="hidden" name="rd" value="${access.returnTo}" />
      <label for="jit-duration">For how long</label>
      <select id="jit-duration" name="duration">
        ${options}
      </select>
      <label for="jit-reason">Reason${offer.requireReason ? '' : ' (optional)'}</label>
      <textarea
        id="jit-reason"
        name="reason"
        rows="3"
        maxlength="${MAX_REASON_LENGTH}"
        ${offer.requireReason ? REQUIRED : NOTHING}
      ></textarea>
      <div class="actions"><button type="submit">Request access</button></div>
    </form>`;
}

/** What the deny page adds when the policy offers just-in-time access. */
export function accessOfferHtml(access: AccessOffer): SafeHtml {
  return access.pending === undefined ? requestFormHtml(access) : pendingHtml(access);
}

/** The deny answer's JSON part: what an API client needs to know to ask. */
export function accessOfferJson(access: AccessOffer) {
  return {
    grant: access.offer.grant,
    max_duration_s: Math.floor(access.offer.maxDurationMs / 1000),
    require_reason: access.offer.requireReason,
    pending: access.pending !== undefined,
  };
}
