import type { CollectedPosture } from './collect.js';

/**
 * `ok`: nothing to do; `bind`: the session has no device yet, this is its first (trust on first
 * sight, as at login); `device_changed`: the session belongs to another device: a copied
 * cookie, so the session ends; `user_mismatch`: the signed posture names another user.
 */
export type BindingVerdict = 'ok' | 'bind' | 'device_changed' | 'user_mismatch';

/** SPEC §6 device binding, judged on the evidence of one request. Pure. */
export function judgeDeviceBinding(
  boundDeviceId: string | undefined,
  posture: CollectedPosture,
  /** The signed-in user's email; a signed assertion naming another user is a mismatch. */
  email: string | undefined,
): BindingVerdict {
  if (posture.email !== undefined && posture.email !== email) return 'user_mismatch';
  const deviceId = posture.facts?.deviceId;
  if (deviceId === undefined) return 'ok';
  if (boundDeviceId === undefined) return 'bind';
  return deviceId === boundDeviceId ? 'ok' : 'device_changed';
}
