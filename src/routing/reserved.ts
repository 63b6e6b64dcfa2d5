import type { CanonicalTarget } from './canonicalize.js';

/** Whether a canonical target is under the gateway's reserved prefix `/.ztna/` (SPEC §2 step 2). */
export function isReserved(target: CanonicalTarget): boolean {
  return target.segments[0] === '.ztna';
}
