import { z } from 'zod';
import type { JWTPayload } from 'jose';
import type { JwtRejection, JwtVerifier } from '../auth/jwt-verifier.js';
import { OS_NAMES } from './facts.js';
import type { PostureFacts } from './facts.js';

/** The posture claims of SPEC §6; a wrong type anywhere refuses the whole assertion. */
const postureClaims = z.object({
  sub: z.string().min(1).max(256),
  iat: z.number(),
  managed: z.boolean().optional(),
  os: z.enum(OS_NAMES).optional(),
  os_version: z.string().max(64).optional(),
  disk_encrypted: z.boolean().optional(),
  edr_running: z.boolean().optional(),
  firewall: z.boolean().optional(),
  email: z.string().max(320).optional(),
});

export interface VerifiedPosture {
  readonly facts: PostureFacts;
  /** The user the device is bound to, lower-cased, when the issuer says. */
  readonly email: string | undefined;
}

export type PostureAssertionResult =
  | { readonly ok: true; readonly posture: VerifiedPosture }
  | { readonly ok: false; readonly reason: JwtRejection };

/**
 * Verifies `X-Device-Posture` assertions (a JWS from an MDM/EDR bridge, SPEC §6) and turns
 * their claims into posture facts. Mapping results are kept per verified payload, which the
 * JWT verifier itself caches per token: a repeated assertion costs a map lookup.
 */
export function createPostureAssertionVerifier(verifier: JwtVerifier) {
  const mapped = new WeakMap<JWTPayload, VerifiedPosture | 'bad_claims'>();

  function map(payload: JWTPayload): VerifiedPosture | 'bad_claims' {
    const claims = postureClaims.safeParse(payload);
    if (!claims.success) return 'bad_claims';
    const c = claims.data;
    return {
      facts: {
        deviceId: c.sub,
        managed: c.managed,
        os: c.os,
        osVersion: c.os_version,
        diskEncrypted: c.disk_encrypted,
        edrRunning: c.edr_running,
        firewall: c.firewall,
        observedAt: c.iat * 1000,
      },
      email: c.email?.toLowerCase(),
    };
  }

  return async function verifyPostureAssertion(
    token: string,
    now: number,
  ): Promise<PostureAssertionResult> {
    const verdict = await verifier.verify(token, now);
    if (!verdict.ok) return verdict;
    let posture = mapped.get(verdict.payload);
    if (posture === undefined) {
      posture = map(verdict.payload);
      mapped.set(verdict.payload, posture);
    }
    return posture === 'bad_claims' ? { ok: false, reason: 'bad_claims' } : { ok: true, posture };
  };
}

export type PostureAssertionVerifier = ReturnType<typeof createPostureAssertionVerifier>;
