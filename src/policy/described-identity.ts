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
  /**
   * A workload, not a person: the `name` of the service_tokens entry whose token it brings.
   * Like serving, such an identity has no email or groups (SPEC §4.2) and no sign-in claims.
   */
  readonly issuer?: string | undefined;
}

/**
 * The identity a service token of the named issuer would produce: `sub` and claims only (the
 * token's `iss` URL is not known without gateway.yaml; describe it in `claims` to test it).
 */
function describedWorkload(description: IdentityDescription, issuer: string): Identity {
  const sub = description.sub ?? description.email ?? 'anonymous';
  return {
    sub,
    claims: { ...description.claims, sub },
    workload: { issuer: String(description.claims?.iss ?? ''), name: issuer },
  };
}

/** Builds the identity a real login (or, with `issuer`, a service token) would produce. */
export function describedIdentity(description: IdentityDescription, at: number): Identity {
  if (description.issuer !== undefined) return describedWorkload(description, description.issuer);
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
