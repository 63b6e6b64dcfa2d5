import type { CompiledCondition } from '../types.js';
import { trustedEmail } from './emails.js';

/**
 * `email_domains: [corp.example]`: the part after the only `@`, lower-cased, compared exactly.
 * `a@b@corp.example` and `a@evilcorp.example` never match `corp.example` (SPEC §5).
 */
export function compileEmailDomains(domains: readonly string[]): CompiledCondition {
  const allowed = new Set(domains.map((d) => d.toLowerCase()));
  return {
    kind: 'email_domains',
    description: `email domain in [${[...allowed].join(', ')}]`,
    test: (input) => {
      const email = trustedEmail(input.identity);
      if (email === undefined) return false;
      const at = email.indexOf('@');
      if (at <= 0 || at !== email.lastIndexOf('@')) return false;
      return allowed.has(email.slice(at + 1).toLowerCase());
    },
  };
}
