import type { CompiledCondition } from '../types.js';

/**
 * RFC 8176 authentication methods that are a factor beyond a password: possession (keys,
 * OTP, SMS, smart cards) and inherence (biometrics), plus the summary values `mfa` and `mca`.
 * Knowledge methods (`pwd`, `pin`, `kba`) and risk signals are not a second factor.
 */
const SECOND_FACTORS = new Set([
  'mfa',
  'mca',
  'otp',
  'hwk',
  'swk',
  'sms',
  'tel',
  'sc',
  'pop',
  'fpt',
  'face',
  'iris',
  'retina',
  'vbm',
]);

/**
 * `mfa: true`: the ID token's `amr` shows a second factor, or its `acr` is one of the IdP's
 * MFA levels (`idp.mfa_acr_values`). Failing it asks for a new login with MFA (step-up).
 */
export function compileMfa(mfaAcrValues: readonly string[]): CompiledCondition {
  const acrs = new Set(mfaAcrValues);
  return {
    kind: 'mfa',
    description: 'signed in with a second factor',
    softness: 'step_up',
    test: (input) => {
      // A workload never signed in at the IdP: its own token's `amr`/`acr` vouch for nothing.
      if (input.identity?.workload !== undefined) return false;
      const claims = input.identity?.claims;
      if (claims === undefined) return false;
      const { amr, acr } = claims;
      if (
        Array.isArray(amr) &&
        amr.some((method) => typeof method === 'string' && SECOND_FACTORS.has(method))
      )
        return true;
      return typeof acr === 'string' && acrs.has(acr);
    },
  };
}
