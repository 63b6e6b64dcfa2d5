import type { CompiledCondition } from '../types.js';

/**
 * `grant: wiki-admin`: the person holds a just-in-time grant of that name that has not expired
 * at `now` (SPEC §13). Expiry is judged here, on every request, not by the store's sweep: access
 * ends at the second the grant does. Only a signed-in person holds grants: the pipeline reads
 * none for anyone else, and this condition refuses them too, should grants ever reach it.
 */
export function compileGrant(name: string): CompiledCondition {
  return {
    kind: 'grant',
    description: `holds an active grant ${name}`,
    test: (input, now) =>
      input.identity !== undefined &&
      input.identity.workload === undefined &&
      (input.grants?.get(name) ?? 0) > now,
  };
}
