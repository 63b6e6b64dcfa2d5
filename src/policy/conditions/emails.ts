import type { CompiledCondition, Identity } from '../types.js';

/**
 * The identity's email, only when it is usable for a decision: present, and not explicitly
 * marked unverified by the IdP (fail closed on `email_verified: false`).
 */
export function trustedEmail(identity: Identity | undefined): string | undefined {
  if (identity?.email === undefined || identity.emailVerified === false) return undefined;
  return identity.email;
}

/** `emails: [a@corp.example]`: exact address, compared case-insensitively. */
export function compileEmails(emails: readonly string[]): CompiledCondition {
  const allowed = new Set(emails.map((e) => e.toLowerCase()));
  return {
    kind: 'emails',
    description: `email in [${[...allowed].join(', ')}]`,
    test: (input) => {
      const email = trustedEmail(input.identity);
      return email !== undefined && allowed.has(email.toLowerCase());
    },
  };
}
