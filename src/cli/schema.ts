import { z } from 'zod';
import { gatewayFileSchema } from '../config/gateway-schema.js';
import { policyTestsSchema } from '../config/policy-tests-schema.js';
import { routesFileSchema } from '../config/routes-schema.js';
import { parseOptions } from './args.js';
import { EXIT_OK, UsageError } from './io.js';
import type { CliIo } from './io.js';

export const SCHEMA_USAGE = 'ztna-gateway schema [routes|gateway|tests]';

const SCHEMAS = {
  routes: routesFileSchema,
  gateway: gatewayFileSchema,
  tests: policyTestsSchema,
} as const;

/**
 * The JSON Schema of a config file, generated from the zod schema that validates it (never
 * written by hand, so editors and the gateway cannot disagree). Refinements that JSON Schema
 * cannot say (canonical paths, known profile names) stay with `ztna-gateway check`.
 */
export function jsonSchemaOf(kind: keyof typeof SCHEMAS): string {
  const schema = z.toJSONSchema(SCHEMAS[kind], { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: `ztna-gateway ${kind === 'tests' ? 'routes.test.yaml' : kind === 'routes' ? 'routes.yaml' : 'gateway.yaml'}` }, null, 2)}\n`;
}

/** `ztna-gateway schema`: prints the JSON Schema of routes.yaml (or gateway.yaml, or the test file). */
export async function runSchema(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parseOptions(argv, {}, io.env, true);
  const kind = positionals[0] ?? 'routes';
  if (!Object.hasOwn(SCHEMAS, kind))
    throw new UsageError(`unknown schema "${kind}": routes, gateway or tests`);
  io.stdout(jsonSchemaOf(kind as keyof typeof SCHEMAS).trimEnd());
  return EXIT_OK;
}
