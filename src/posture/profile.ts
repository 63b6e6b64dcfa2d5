import type { OsName, PostureCheck, PostureFacts } from './facts.js';
import { formatDuration } from '../lib/duration.js';
import { isAtLeast, parseVersion } from './os-version.js';

/** A posture profile as written in routes.yaml (validated): each present key is a requirement. */
export interface PostureProfileSpec {
  readonly managed?: true | undefined;
  readonly disk_encrypted?: true | undefined;
  readonly edr_running?: true | undefined;
  readonly firewall?: true | undefined;
  readonly os?: readonly OsName[] | undefined;
  readonly min_os_version?: Readonly<Partial<Record<OsName, string>>> | undefined;
  /** Milliseconds: evidence older than this does not count. */
  readonly max_age?: number | undefined;
}

/** A profile compiled into one function that names the first failing check, or undefined. */
export type PostureProfile = (
  facts: PostureFacts | undefined,
  now: number,
) => PostureCheck | undefined;

/**
 * Compiles a posture profile (SPEC §6). Checks run in a fixed order so the reason names the
 * most basic problem first: no evidence, stale evidence, unmanaged device, wrong OS, old OS,
 * then the protections. `min_os_version` also limits the OS to those it lists: a device whose
 * OS has no known minimum cannot be judged current, so it fails closed (`deny:posture.os`).
 */
export function compilePostureProfile(spec: PostureProfileSpec): PostureProfile {
  const allowedOs = new Set<OsName>(spec.os ?? []);
  const minimums = new Map<OsName, number[]>();
  for (const [os, version] of Object.entries(spec.min_os_version ?? {})) {
    const parsed = parseVersion(version!);
    if (parsed === undefined) throw new TypeError(`unvalidated version ${version}`);
    minimums.set(os as OsName, parsed);
  }
  return (facts, now) => {
    if (facts === undefined) return 'missing';
    if (spec.max_age !== undefined && now - facts.observedAt > spec.max_age) return 'max_age';
    if (spec.managed && facts.managed !== true) return 'managed';
    if (allowedOs.size > 0 && (facts.os === undefined || !allowedOs.has(facts.os))) return 'os';
    if (minimums.size > 0) {
      const minimum = facts.os === undefined ? undefined : minimums.get(facts.os);
      if (minimum === undefined) return 'os';
      const version = facts.osVersion === undefined ? undefined : parseVersion(facts.osVersion);
      if (version === undefined || !isAtLeast(version, minimum)) return 'min_os_version';
    }
    if (spec.disk_encrypted && facts.diskEncrypted !== true) return 'disk_encrypted';
    if (spec.edr_running && facts.edrRunning !== true) return 'edr_running';
    if (spec.firewall && facts.firewall !== true) return 'firewall';
    return undefined;
  };
}

/** Words for the explain trace: `managed, disk encrypted, macos >= 14.4, fresh within 15m`. */
export function describePostureProfile(spec: PostureProfileSpec): string {
  const parts: string[] = [];
  if (spec.managed) parts.push('managed');
  if (spec.os) parts.push(`os in [${spec.os.join(', ')}]`);
  for (const [os, version] of Object.entries(spec.min_os_version ?? {}))
    parts.push(`${os} >= ${version}`);
  if (spec.disk_encrypted) parts.push('disk encrypted');
  if (spec.edr_running) parts.push('EDR running');
  if (spec.firewall) parts.push('firewall on');
  if (spec.max_age !== undefined)
    parts.push(`evidence younger than ${formatDuration(spec.max_age)}`);
  return parts.join(', ') || 'any device with posture evidence';
}

const OS_DISPLAY: Readonly<Record<OsName, string>> = {
  macos: 'macOS',
  windows: 'Windows',
  linux: 'Linux',
  ios: 'iOS',
  android: 'Android',
  chromeos: 'ChromeOS',
};

/**
 * What the person must fix, in words (SPEC §6: the deny page tells people what to fix). Says
 * what the device lacks and what is required; never which groups or rules exist.
 */
export function describePostureFailure(
  check: PostureCheck,
  spec: PostureProfileSpec,
  facts: PostureFacts | undefined,
): string {
  switch (check) {
    case 'missing':
      return 'No device check came with this request. Make sure the company device agent is installed and running, then reload.';
    case 'user_mismatch':
      return 'The device report belongs to someone else. Sign in again from your own device.';
    case 'max_age':
      return `This device's last check is too old (more than ${formatDuration(spec.max_age ?? 0)}). Wait for the device agent to report again, then reload.`;
    case 'managed':
      return 'This device is not managed by the company. Use a company-managed device.';
    case 'os': {
      const allowed = spec.os ?? (Object.keys(spec.min_os_version ?? {}) as OsName[]);
      return `This application is available on ${allowed.map((os) => OS_DISPLAY[os]).join(', ')} devices only.`;
    }
    case 'min_os_version': {
      const os = facts?.os;
      const minimum = os === undefined ? undefined : spec.min_os_version?.[os];
      const reported =
        facts?.osVersion === undefined ? '' : ` (this device reports ${facts.osVersion})`;
      return os === undefined || minimum === undefined
        ? 'This operating system version is too old. Update it and try again.'
        : `${OS_DISPLAY[os]} ${minimum} or newer is required${reported}. Update it and try again.`;
    }
    case 'disk_encrypted':
      return 'Disk encryption is off on this device. Turn on FileVault (macOS) or BitLocker (Windows), then reload.';
    case 'edr_running':
      return 'The endpoint protection (EDR) agent is not running on this device.';
    case 'firewall':
      return 'The firewall is off on this device. Turn it on, then reload.';
  }
}
