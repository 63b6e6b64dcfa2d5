/**
 * Posture's own types (SPEC §6): the facts a device reports and the checks a profile can fail.
 * Policy reads them; posture never imports policy.
 */

export const OS_NAMES = ['macos', 'windows', 'linux', 'ios', 'android', 'chromeos'] as const;
export type OsName = (typeof OS_NAMES)[number];

/** Device posture evidence, as collected for this request (SPEC §6). */
export interface PostureFacts {
  readonly deviceId?: string | undefined;
  readonly managed?: boolean | undefined;
  readonly os?: OsName | undefined;
  readonly osVersion?: string | undefined;
  readonly diskEncrypted?: boolean | undefined;
  readonly edrRunning?: boolean | undefined;
  readonly firewall?: boolean | undefined;
  /** Epoch ms when the evidence was produced (its `iat`): `max_age` counts from here. */
  readonly observedAt: number;
}

/** The posture checks a profile can fail, each a reason code `deny:posture.<check>`. */
export type PostureCheck =
  | 'missing'
  | 'user_mismatch'
  | 'max_age'
  | 'managed'
  | 'os'
  | 'min_os_version'
  | 'disk_encrypted'
  | 'edr_running'
  | 'firewall';
