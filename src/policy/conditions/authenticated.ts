import type { CompiledCondition } from '../types.js';

/** `authenticated: true`: any signed-in identity. Explicit, because an empty rule is refused. */
export function compileAuthenticated(): CompiledCondition {
  return {
    kind: 'authenticated',
    description: 'any signed-in user',
    test: (input) => input.identity !== undefined,
  };
}
