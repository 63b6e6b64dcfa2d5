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
  const otherUser = posture.email !== undefined && posture.email !== email;
  // Refused evidence has no facts; evidence without a device id does not name the device.
  const deviceId = posture.facts?.deviceId;
  // A bound session is judged on its device first: evidence from another device ends it even
  // when that evidence names another user (a thief's own managed laptop must not turn a copied
  // cookie into a mere policy denial, which audit mode and /.ztna/me would not stop).
  if (boundDeviceId !== undefined) {
    if (deviceId === undefined) return 'device_missing';
    if (deviceId !== boundDeviceId) return 'device_changed';
  }
  if (otherUser) return 'user_mismatch';
  if (boundDeviceId === undefined) return deviceId === undefined ? 'ok' : 'bind';
  return 'ok';
}
