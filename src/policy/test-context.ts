import { canonicalizeTarget } from '../routing/canonicalize.js';
import type { PostureProfileSpec } from '../posture/profile.js';
import type { CompileContext } from './compile.js';

/** A compile context for unit tests: real canonicalizer, given profiles and MFA acr values. */
export function testCompileContext(
  profiles: Record<string, PostureProfileSpec> = {},
  mfaAcrValues: string[] = [],
): CompileContext {
  return {
    postureProfiles: new Map(Object.entries(profiles)),
    mfaAcrValues,
    segmentsOf: (path) => {
      const result = canonicalizeTarget(path);
      if (!result.ok) throw new Error(`bad test path ${path}`);
      return result.target.segments;
    },
  };
}
