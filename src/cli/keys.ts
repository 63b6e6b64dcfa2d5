import { generateAssertionKey } from '../assertion/keys.js';
import { parseOptions } from './args.js';
import { EXIT_OK, UsageError } from './io.js';
import type { CliIo } from './io.js';

export const KEYS_USAGE = 'ztna-gateway keys generate';

/**
 * `ztna-gateway keys generate`: prints a new private ES256 JWK for `assertion.key_file`. It goes
 * to stdout only: redirect it into a secret, never into a repository.
 */
export async function runKeys(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parseOptions(argv, {}, io.env, true);
  if (positionals[0] !== 'generate' || positionals.length !== 1)
    throw new UsageError(`usage: ${KEYS_USAGE}`);
  io.stdout(JSON.stringify(await generateAssertionKey()));
  return EXIT_OK;
}
