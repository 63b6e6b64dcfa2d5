import { formatDuration } from '../lib/duration.js';
import type { Identity } from '../policy/types.js';
import type { PostureCheck, PostureFacts } from '../posture/facts.js';
import type { CollectedPosture } from '../posture/collect.js';
import type { Grant } from '../jit/grants.js';
import { timeHtml } from './access-offer.js';
import { html } from './render.js';
import type { Page } from './render.js';

export interface SessionFacts {
  readonly createdAt: number;
  readonly expiresAt: number;
  /** The device the session is bound to (SPEC §6), if any yet. */
  readonly deviceId: string | undefined;
}

/** The verdict of one named posture profile on this request's evidence. */
export interface ProfileVerdict {
  readonly profile: string;
  /** undefined: passes. */
  readonly failed: PostureCheck | undefined;
}

const SOURCE_WORDS = {
  assertion: 'signed device assertion',
  headers: 'trusted posture proxy',
  none: 'none sent',
  invalid: 'a device assertion was sent but refused',
  untrusted_source: 'device headers from an untrusted source (ignored)',
} as const;

function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds === 0 ? 'just now' : `${formatDuration(seconds * 1000)} ago`;
}

/** Time left, to the minute started: a grant with 30 s left still shows `1m`. */
function remaining(ms: number): string {
  return formatDuration(Math.max(1, Math.ceil(ms / 60_000)) * 60_000);
}

function yesNo(value: boolean | undefined): string {
  return value === undefined ? 'unknown' : value ? 'yes' : 'no';
}

function postureJson(facts: PostureFacts | undefined, now: number) {
  if (facts === undefined) return null;
  return {
    device_id: facts.deviceId ?? null,
    managed: facts.managed ?? null,
    os: facts.os ?? null,
    os_version: facts.osVersion ?? null,
    disk_encrypted: facts.diskEncrypted ?? null,
    edr_running: facts.edrRunning ?? null,
    firewall: facts.firewall ?? null,
    age_seconds: Math.max(0, Math.round((now - facts.observedAt) / 1000)),
  };
}

/** GET /.ztna/me: who the gateway thinks you are, your device, your session (SPEC §9). */
export function mePage(
  identity: Identity,
  session: SessionFacts,
  posture: CollectedPosture,
  verdicts: readonly ProfileVerdict[],
  grants: readonly Grant[],
  now: number,
): Page {
  const facts = posture.facts;
  const left = formatDuration(Math.max(0, Math.round((session.expiresAt - now) / 1000) * 1000));
  const deviceRows =
    facts === undefined
      ? html`<tr>
          <th>Device check</th>
          <td>${SOURCE_WORDS[posture.source]}</td>
        </tr>`
      : html`<tr>
            <th>Device check</th>
            <td>${SOURCE_WORDS[posture.source]}, ${age(now - facts.observedAt)}</td>
          </tr>
          <tr>
            <th>Device id</th>
            <td class="mono">${facts.deviceId ?? '(none)'}</td>
          </tr>
          <tr>
            <th>Managed</th>
            <td>${yesNo(facts.managed)}</td>
          </tr>
          <tr>
            <th>Operating system</th>
            <td>${facts.os ?? 'unknown'} ${facts.osVersion ?? ''}</td>
          </tr>
          <tr>
            <th>Disk encrypted</th>
            <td>${yesNo(facts.diskEncrypted)}</td>
          </tr>
          <tr>
            <th>EDR running</th>
            <td>${yesNo(facts.edrRunning)}</td>
          </tr>
          <tr>
            <th>Firewall</th>
            <td>${yesNo(facts.firewall)}</td>
          </tr>`;
  const verdictRows = verdicts.map(
    (v) =>
      html`<tr>
        <th>Profile ${v.profile}</th>
        <td>${v.failed === undefined ? 'passes' : `fails: ${v.failed}`}</td>
      </tr>`,
  );
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
          <td>${identity.groups?.join(', ') ?? '(none)'}</td>
        </tr>
        <tr>
          <th>Signed in</th>
          <td>${age(now - session.createdAt)}</td>
        </tr>
        <tr>
          <th>Session ends</th>
          <td>in ${left} at the latest</td>
        </tr>
        <tr>
          <th>Bound device</th>
          <td class="mono">${session.deviceId ?? '(none yet)'}</td>
        </tr>
      </table>
      <h2>Temporary access</h2>
      ${
        grants.length === 0
          ? html`<p>None. <a href="/.ztna/access">Your access requests</a></p>`
          : html`<table>
              ${grants.map(
                (g) =>
                  html`<tr>
                    <th class="mono">${g.grant}</th>
                    <td>until ${timeHtml(g.expiresAt)} (${remaining(g.expiresAt - now)} left)</td>
                  </tr>`,
              )}
            </table>`
      }
      <h1>This device</h1>
      <table>
        ${deviceRows}${verdictRows}
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
        device_id: session.deviceId ?? null,
      },
      grants: grants.map((g) => ({
        grant: g.grant,
        expires_at: new Date(g.expiresAt).toISOString(),
      })),
      device: {
        source: posture.source,
        posture: postureJson(facts, now),
        profiles: Object.fromEntries(verdicts.map((v) => [v.profile, v.failed ?? 'pass'])),
      },
    },
  };
}
