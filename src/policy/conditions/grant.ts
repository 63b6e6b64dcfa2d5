import type { CompiledCondition } from '../types.js';

/**
 * `grant: wiki-admin`: the person holds a just-in-time grant of that name that has not expired
 * at `now` (SPEC §13). Expiry is judged here, on every request, not by the store's sweep: access
 * ends at the second the grant does. Workloads never hold grants.
 */
export function compileGrant(name: string): CompiledCondition {
  return {
    kind: 'grant',
    description: `holds an active grant ${name}`,
    test: (input, now) => (input.grants?.get(name) ?? 0) > now,
  };
}
