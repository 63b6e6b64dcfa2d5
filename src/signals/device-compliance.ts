import type { DeviceSignal } from '../revocation/bus.js';

/** Posture evidence older than this is refused anyway (the 24 h ceiling): a mark can go. */
const MARK_LIFETIME_MS = 24 * 3_600_000 + 5 * 60_000;
const MAX_MARKS = 100_000;

/**
 * Devices a shared signal said are not compliant (CAEP device-compliance-change), and since
 * when. Their evidence from before that moment fails, however good it looked when it was
 * signed; evidence observed after it (a new, compliant report) counts again (SPEC §14).
 */
export function createDeviceComplianceMarks(now: () => number = Date.now) {
  /** device id → epoch ms of the non-compliance; insertion order is marking order. */
  const marks = new Map<string, number>();

  function forgetOld(): void {
    const oldest = now() - MARK_LIFETIME_MS;
    for (const [id, since] of marks) {
      if (since > oldest && marks.size <= MAX_MARKS) break;
      marks.delete(id);
    }
  }

  function markNotCompliant(deviceId: string, since: number): void {
    const current = marks.get(deviceId);
    if (current !== undefined && current >= since) return;
    marks.delete(deviceId);
    marks.set(deviceId, since);
    forgetOld();
  }

  /** A later `compliant` signal clears an earlier mark; an older one changes nothing. */
  function markCompliant(deviceId: string, since: number): void {
    const current = marks.get(deviceId);
    if (current !== undefined && current <= since) marks.delete(deviceId);
  }

  return {
    /** A compliance change, from a SET here or from another instance over the bus. */
    apply(change: DeviceSignal): void {
      if (change.compliant) markCompliant(change.id, change.since);
      else markNotCompliant(change.id, change.since);
    },
    /** Whether evidence of this device, observed at `observedAt`, predates its non-compliance. */
    outdates(deviceId: string, observedAt: number): boolean {
      const since = marks.get(deviceId);
      return since !== undefined && observedAt <= since;
    },
  };
}

export type DeviceComplianceMarks = ReturnType<typeof createDeviceComplianceMarks>;
