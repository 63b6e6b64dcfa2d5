import type { OsName, PostureCheck, PostureFacts } from '../policy/types.js';
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
