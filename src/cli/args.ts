import { parseArgs } from 'node:util';
import { UsageError } from './io.js';

type OptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
>;

/**
 * Parses a command's options. Every option may also come from `ZTNA_<OPTION>` in the
 * environment (SPEC §3), the command line winning. Unknown options are usage errors.
 */
export function parseOptions<T extends OptionSpec>(
  argv: readonly string[],
  spec: T,
  env: NodeJS.ProcessEnv,
  allowPositionals = false,
) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  for (const [name, option] of Object.entries(spec)) {
    if (values[name] !== undefined) continue;
    const fromEnv = env[`ZTNA_${name.toUpperCase().replaceAll('-', '_')}`];
    if (fromEnv === undefined || fromEnv === '') continue;
    if (option.type === 'boolean')
      values[name] = fromEnv === '1' || fromEnv.toLowerCase() === 'true';
    else values[name] = option.multiple ? fromEnv.split(',') : fromEnv;
  }
  return { values, positionals: parsed.positionals };
}
