import type { CompiledCondition } from '../types.js';

/** `methods: [GET, HEAD]`: the request method is listed (upper-case, as HTTP sends them). */
export function compileMethods(methods: readonly string[]): CompiledCondition {
  const allowed = new Set(methods.map((m) => m.toUpperCase()));
  return {
    kind: 'methods',
    description: `method in [${[...allowed].join(', ')}]`,
    test: (input) => allowed.has(input.request.method),
  };
}
