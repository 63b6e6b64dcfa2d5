import type { CollectedPosture } from './collect.js';

/**
 * `ok`: nothing to do; `bind`: the session has no device yet, this is its first (trust on first
 * sight, as at login); `device_changed`: the session belongs to another device: a copied
 * cookie, so the session ends; `device_missing`: the session belongs to a device, but this
 * request brings no valid evidence from it (none, refused, or plain headers from an untrusted
 * peer): a cookie without its device is not served either, and the session ends too;
 * `user_mismatch`: the signed posture names another user.
 */
export type BindingVerdict = 'ok' | 'bind' | 'device_changed' | 'device_missing' | 'user_mismatch';

/** SPEC §6 device binding, judged on the evidence of one request. Pure. */
export function judgeDeviceBinding(
  boundDeviceId: string | undefined,
  posture: CollectedPosture,
  /** The signed-in user's email; a signed assertion naming another user is a mismatch. */
  email: string | undefined,
): BindingVerdict {
  if (posture.email !== undefined && posture.email !== email) return 'user_mismatch';
  // Refused evidence has no facts; evidence without a device id does not name the device.
  const deviceId = posture.facts?.deviceId;
  if (boundDeviceId === undefined) return deviceId === undefined ? 'ok' : 'bind';
  if (deviceId === undefined) return 'device_missing';
  return deviceId === boundDeviceId ? 'ok' : 'device_changed';
}
