import type { IncomingHttpHeaders } from 'node:http';
import { OS_NAMES } from './facts.js';
import type { OsName, PostureFacts } from './facts.js';

const OS = new Set<string>(OS_NAMES);

/** `true/false`, `1/0`, `yes/no`; anything else is unknown (and fails a requirement). */
function flag(value: string | string[] | undefined): boolean | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return undefined;
}

function text(value: string | string[] | undefined, max: number): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= max
    ? value.trim()
    : undefined;
}

/** Whether the request carries any plain posture header (they are stripped before forwarding). */
export function hasPostureHeaders(headers: IncomingHttpHeaders): boolean {
  for (const name in headers)
    if (name.startsWith('x-device-') && name !== 'x-device-posture') return true;
  return false;
}

/**
 * Reads the plain `X-Device-*` headers (SPEC §6). Only called for peers listed in
 * `posture.trusted_proxies`: a proxy that checks devices itself and vouches per request, so the
 * evidence is as fresh as the request.
 */
export function postureFromHeaders(headers: IncomingHttpHeaders, now: number): PostureFacts {
  const os = text(headers['x-device-os'], 16)?.toLowerCase();
  return {
    deviceId: text(headers['x-device-id'], 256),
    managed: flag(headers['x-device-managed']),
    os: os !== undefined && OS.has(os) ? (os as OsName) : undefined,
    osVersion: text(headers['x-device-os-version'], 64),
    diskEncrypted: flag(headers['x-device-disk-encrypted']),
    edrRunning: flag(headers['x-device-edr']),
    firewall: flag(headers['x-device-firewall']),
    observedAt: now,
  };
}
