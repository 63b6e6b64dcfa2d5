import { canonicalIp, createCidrMatcher } from '../../lib/cidr.js';
import type { CompiledCondition } from '../types.js';

/**
 * `ip: [10.0.0.0/8, 2001:db8::/32]`: the client address (as resolved through trusted proxies).
 *
 * Fail closed both ways when the client address is unknown (lib/forwarded.ts `UNKNOWN_CLIENT`,
 * or anything else that is no address): in an allow rule it is in no block, and in a deny rule
 * it counts as in the blocks, so a client whose address nobody can vouch for is never served
 * as if it came from outside a denied network.
 */
export function compileIp(cidrs: readonly string[], list: 'allow' | 'deny'): CompiledCondition {
  const matches = createCidrMatcher(cidrs);
  if (list === 'allow')
    return {
      kind: 'ip',
      description: `client IP in [${cidrs.join(', ')}]`,
      test: (input) => matches(input.request.ip),
    };
  return {
    kind: 'ip',
    description: `client IP in [${cidrs.join(', ')}] or unknown`,
    test: (input) => canonicalIp(input.request.ip) === undefined || matches(input.request.ip),
  };
}
