import type { Identity } from './types.js';

/** How an admin describes an identity (explain options, test cases). */
export interface IdentityDescription {
  readonly email?: string | undefined;
  readonly sub?: string | undefined;
  readonly groups?: readonly string[] | undefined;
  readonly emailVerified?: boolean | undefined;
  /** Shorthand for `amr: [pwd, otp]`. */
  readonly mfa?: boolean | undefined;
  readonly amr?: readonly string[] | undefined;
  readonly acr?: string | undefined;
  /** Time since the user authenticated at the IdP, in ms (sets `auth_time`). */
  readonly authAgeMs?: number | undefined;
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
}

/** Builds the identity a real login would produce from such a description. */
export function describedIdentity(description: IdentityDescription, at: number): Identity {
  const email = description.email?.toLowerCase();
  const sub = description.sub ?? description.email ?? 'anonymous';
  const amr = description.amr ?? (description.mfa ? ['pwd', 'otp'] : ['pwd']);
  const claims: Record<string, unknown> = {
    ...description.claims,
    sub,
    ...(email !== undefined && { email }),
    ...(description.groups !== undefined && { groups: [...description.groups] }),
    amr,
    ...(description.acr !== undefined && { acr: description.acr }),
    auth_time: Math.floor((at - (description.authAgeMs ?? 0)) / 1000),
  };
  return {
    sub,
    email,
    emailVerified: description.emailVerified,
    groups: description.groups,
    claims,
  };
}
