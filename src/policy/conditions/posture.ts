import {
  compilePostureProfile,
  describePostureFailure,
  describePostureProfile,
} from '../../posture/profile.js';
import type { PostureProfileSpec } from '../../posture/profile.js';
import type { CompiledCondition } from '../types.js';

/** `posture: baseline` or an inline profile: the device's evidence satisfies the profile. */
export function compilePosture(
  name: string | undefined,
  spec: PostureProfileSpec,
): CompiledCondition {
  const check = compilePostureProfile(spec);
  return {
    kind: 'posture',
    description: `device posture ${name === undefined ? '' : `"${name}" `}(${describePostureProfile(spec)})`,
    softness: 'posture',
    test: (input, now) => check(input.posture, now) === undefined,
    failedCheck: (input, now) => check(input.posture, now),
    failureText: (input, now) => {
      const failed = check(input.posture, now);
      return failed === undefined ? undefined : describePostureFailure(failed, spec, input.posture);
    },
  };
}
