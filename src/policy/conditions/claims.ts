import { readClaim } from '../../lib/claim-path.js';
import type { CompiledCondition } from '../types.js';

export type ClaimValue = string | number | boolean;

/**
 * `claims: { department: sales, "realm_access.roles": [admin, ops] }`: every listed claim
 * must match. A claim matches when it equals one of the listed values, or, when the claim is a
 * list, contains one. Comparison is strict (`3` is not `"3"`); a missing claim never matches.
 */
export function compileClaims(
  spec: Readonly<Record<string, ClaimValue | readonly ClaimValue[]>>,
): CompiledCondition {
  const checks = Object.entries(spec).map(([path, expected]) => ({
    path,
    allowed: new Set<unknown>(Array.isArray(expected) ? expected : [expected]),
  }));
  const described = checks
    .map(({ path, allowed }) => `${path} in [${[...allowed].join(', ')}]`)
    .join(' and ');
  return {
    kind: 'claims',
    description: `claims ${described}`,
    test: (input) => {
      const claims = input.identity?.claims;
      if (claims === undefined) return false;
      for (const { path, allowed } of checks) {
        const value = readClaim(claims, path);
        const ok = Array.isArray(value) ? value.some((v) => allowed.has(v)) : allowed.has(value);
        if (!ok) return false;
      }
      return true;
    },
  };
}
