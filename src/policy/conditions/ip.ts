import { createCidrMatcher } from '../../lib/cidr.js';
import type { CompiledCondition } from '../types.js';

/** `ip: [10.0.0.0/8, 2001:db8::/32]`: the client address (as resolved through trusted proxies). */
export function compileIp(cidrs: readonly string[]): CompiledCondition {
  const matches = createCidrMatcher(cidrs);
  return {
    kind: 'ip',
    description: `client IP in [${cidrs.join(', ')}]`,
    test: (input) => matches(input.request.ip),
  };
}
