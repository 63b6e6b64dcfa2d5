import type { CompiledCondition } from '../types.js';

/** `subjects: [...]`: the identity's `sub` is listed (exact; service accounts, SPIFFE ids). */
export function compileSubjects(subjects: readonly string[]): CompiledCondition {
  const allowed = new Set(subjects);
  return {
    kind: 'subjects',
    description: `subject in [${subjects.join(', ')}]`,
    test: (input) => input.identity !== undefined && allowed.has(input.identity.sub),
  };
}
