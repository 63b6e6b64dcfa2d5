import type { CompiledCondition } from '../types.js';

/**
 * `issuers: [k8s-prod]`: a workload identity whose token came from one of these service_tokens
 * entries (SPEC §4.2). A bearer identity belongs to its issuer: a dev cluster's token naming a
 * prod service account is still a dev token. People (sessions) never match.
 */
export function compileIssuers(names: readonly string[]): CompiledCondition {
  const allowed = new Set(names);
  return {
    kind: 'issuers',
    description: `token issuer in [${names.join(', ')}]`,
    test: (input) => {
      const name = input.identity?.workload?.name;
      return name !== undefined && allowed.has(name);
    },
  };
}
