/**
 * Where a revocation came from (the `source` label of `ztna_revocation_lag_seconds`, SPEC §10):
 * an admin, a user's logout, the IdP's back-channel logout, a shared signal, or the gateway's own
 * per-request checks (absolute lifetime, refused token refresh, a copied cookie).
 */
export type RevocationSource = 'admin' | 'logout' | 'backchannel' | 'ssf' | 'session_check';

export const REVOCATION_SOURCES: readonly RevocationSource[] = [
  'admin',
  'logout',
  'backchannel',
  'ssf',
  'session_check',
];

/** Sessions that ended, already removed from the shared store by the instance that ended them. */
export interface Revocation {
  readonly sids: readonly string[];
  readonly source: RevocationSource;
  /** Epoch ms at which the revoking instance began the revocation (for the lag metric). */
  readonly at: number;
  /** Devices a shared signal changed (CAEP device-compliance-change), for every instance. */
  readonly devices?: readonly DeviceSignal[];
  /** Just-in-time grants revoked or expired (ids): the WebSockets they let through close. */
  readonly grants?: readonly string[];
}

export interface DeviceSignal {
  readonly id: string;
  /** Epoch ms of the change: the device's evidence from before it no longer counts. */
  readonly since: number;
  readonly compliant: boolean;
}

function readDevices(value: unknown): DeviceSignal[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return undefined;
  const devices = value.filter(
    (d): d is DeviceSignal =>
      typeof d === 'object' &&
      d !== null &&
      typeof (d as DeviceSignal).id === 'string' &&
      (d as DeviceSignal).id !== '' &&
      typeof (d as DeviceSignal).since === 'number' &&
      typeof (d as DeviceSignal).compliant === 'boolean',
  );
  return devices.length === value.length ? devices : undefined;
}

/**
 * Carries revocations to the other instances (SPEC §12): what lives on there with a session, its
 * open WebSockets, must end within a second, not at the next sweep. The store already refuses
 * the session's next request everywhere; the bus is about what does not make a next request.
 */
export interface RevocationBus {
  /** Tells every other instance. Never throws: the periodic sweep is the safety net. */
  publish(revocation: Revocation): Promise<void>;
  /** Called for each revocation made by another instance. */
  onRevocation(listener: (revocation: Revocation) => void): void;
  close(): Promise<void>;
}

/**
 * The memory store's bus: one process holds every session, so the instance that revokes is the
 * only one, and it enforces the revocation itself, at once.
 */
export const SINGLE_INSTANCE_BUS: RevocationBus = {
  publish: async () => undefined,
  onRevocation: () => undefined,
  close: async () => undefined,
};

/** A revocation as another instance sent it; anything malformed is dropped, never half-applied. */
export function readRevocation(value: unknown): Revocation | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { sids, source, at, devices, grants } = value as Record<string, unknown>;
  if (!Array.isArray(sids) || !sids.every((sid) => typeof sid === 'string' && sid !== ''))
    return undefined;
  if (!REVOCATION_SOURCES.includes(source as RevocationSource)) return undefined;
  if (typeof at !== 'number' || !Number.isFinite(at)) return undefined;
  const changed = readDevices(devices);
  if (changed === undefined) return undefined;
  const ended = grants ?? [];
  if (!Array.isArray(ended) || !ended.every((id) => typeof id === 'string' && id !== ''))
    return undefined;
  return {
    sids: sids as string[],
    source: source as RevocationSource,
    at,
    devices: changed,
    grants: ended as string[],
  };
}
