import type { CompiledCondition } from '../types.js';

/** `groups: [engineering]`: the identity is in at least one listed group (exact, case-sensitive). */
export function compileGroups(groups: readonly string[]): CompiledCondition {
  const allowed = new Set(groups);
  return {
    kind: 'groups',
    description: `groups include one of [${groups.join(', ')}]`,
    test: (input) => {
      // A missing or malformed groups claim is undefined at login: it matches nothing.
      const mine = input.identity?.groups;
      if (mine === undefined) return false;
      for (const group of mine) if (allowed.has(group)) return true;
      return false;
    },
  };
}
