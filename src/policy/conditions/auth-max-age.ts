import { formatDuration } from '../../lib/duration.js';
import type { CompiledCondition } from '../types.js';

/** Clock skew tolerated for an `auth_time` slightly in the future (IdP and gateway clocks). */
const FUTURE_SKEW_MS = 60_000;

/**
 * `auth_max_age: 1h`: the user typed their credentials at the IdP at most this long ago
 * (`auth_time`). Failing it asks for a new login (step-up), not a dead end.
 */
export function compileAuthMaxAge(maxAgeMs: number): CompiledCondition {
  return {
    kind: 'auth_max_age',
    description: `signed in at the IdP within ${formatDuration(maxAgeMs)}`,
    softness: 'step_up',
    test: (input, now) => {
      // A workload never signed in at the IdP: an `auth_time` in its token is its own claim.
      if (input.identity?.workload !== undefined) return false;
      const authTime = input.identity?.claims.auth_time;
      if (typeof authTime !== 'number' || !Number.isFinite(authTime)) return false;
      const age = now - authTime * 1000;
      return age <= maxAgeMs && age >= -FUTURE_SKEW_MS;
    },
  };
}
