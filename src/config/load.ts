import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import type { ConfigIssue } from './issues.js';
import { GATEWAY_HINTS, gatewayFileSchema } from './gateway-schema.js';
import type { GatewayFile } from './gateway-schema.js';
import { ROUTES_HINTS, routesFileSchema } from './routes-schema.js';
import type { RoutesFile } from './routes-schema.js';
import { crossCheckRoutes } from './routes-cross-checks.js';
import type { ServiceTokenNames } from './routes-cross-checks.js';
import { formatPath, translateZodIssues } from './zod-issues.js';
import type { HintTable, SubjectNamer } from './zod-issues.js';
import { parseYaml } from './yaml-source.js';
import type { YamlSource } from './yaml-source.js';

/** A validated file, with its source kept for positioning later findings (secrets, warnings). */
export type Loaded<T> =
  | {
      readonly ok: true;
      readonly value: T;
      readonly source: YamlSource;
      readonly warnings: ConfigIssue[];
    }
  | { readonly ok: false; readonly issues: ConfigIssue[] };

/** Validates an already parsed YAML file against a schema, translating issues to positions. */
function validateSource<S extends z.ZodType>(
  source: YamlSource,
  schema: S,
  namer: SubjectNamer,
  hints: HintTable,
): Loaded<z.output<S>> {
  const file = source.file;
  if (source.data === null || source.data === undefined) {
    return {
      ok: false,
      issues: [{ file, line: 1, col: 1, severity: 'error', message: 'the file is empty' }],
    };
  }
  const result = schema.safeParse(source.data, { reportInput: true });
  if (!result.success) {
    return { ok: false, issues: translateZodIssues(result.error.issues, source, namer, hints) };
  }
  return { ok: true, value: result.data, source, warnings: [] };
}

const plainNamer: SubjectNamer = (path) => ({ rest: path });

/** Names issues inside `routes[i]` after the route: `route "wiki": policy.allow[0] …`. */
const routeNamer: SubjectNamer = (path, data) => {
  if (path[0] !== 'routes' || typeof path[1] !== 'number') return { rest: path };
  const routes = (data as { routes?: unknown } | null)?.routes;
  const name = Array.isArray(routes)
    ? (routes[path[1]] as { name?: unknown } | null)?.name
    : undefined;
  const subject =
    typeof name === 'string' && name !== '' ? `route "${name}"` : `routes[${path[1]}]`;
  return { subject, rest: path.slice(2) };
};

/** Findings that are not errors: the file still takes effect. */
function lintRoutes(routes: RoutesFile, source: YamlSource): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const warn = (path: PropertyKey[], message: string, hint: string) => {
    const { line, col } = source.position(path);
    warnings.push({ file: source.file, line, col, severity: 'warning', message, hint });
  };
  routes.routes.forEach((route, i) => {
    if (!route.public && route.policy === undefined) {
      warn(
        ['routes', i],
        `route "${route.name}": has no policy and is not public, so it denies everyone`,
        'add policy: { allow: [...] } or public: true',
      );
    } else if (route.policy !== undefined && (route.policy.allow ?? []).length === 0) {
      warn(
        ['routes', i, 'policy'],
        `route "${route.name}": policy has no allow rules, so it denies everyone`,
        'add allow: [...]',
      );
    }
    route.rules?.forEach((rule, j) => {
      if ((rule.policy.allow ?? []).length === 0) {
        warn(
          ['routes', i, 'rules', j, 'policy'],
          `route "${route.name}": rules[${j}].policy has no allow rules, so it denies everything it covers`,
          'add allow: [...]',
        );
      }
    });
  });
  return warnings;
}

/**
 * Validates routes.yaml text; never throws on bad input. `serviceTokens`: the names of
 * gateway.yaml's service_tokens entries, which `issuers` conditions refer to (undefined when
 * gateway.yaml is not known: those references are then not checked).
 */
export function parseRoutes(
  file: string,
  text: string,
  serviceTokens?: ServiceTokenNames,
): Loaded<RoutesFile> {
  const parsed = parseYaml(file, text);
  if (!parsed.ok) return parsed;
  const loaded = validateSource(parsed.source, routesFileSchema, routeNamer, ROUTES_HINTS);
  // Cross-key checks run whatever the fields' state, so every problem shows up in one go.
  const crossIssues = crossCheckRoutes(parsed.source.data, serviceTokens).map(
    ({ path, message, hint }) => issueAt(parsed.source, path, message, hint),
  );
  if (!loaded.ok || crossIssues.length > 0) {
    return { ok: false, issues: [...(loaded.ok ? [] : loaded.issues), ...crossIssues] };
  }
  return { ...loaded, warnings: lintRoutes(loaded.value, loaded.source) };
}

/** Validates gateway.yaml text; never throws on bad input. */
export function parseGateway(file: string, text: string): Loaded<GatewayFile> {
  const parsed = parseYaml(file, text);
  if (!parsed.ok) return parsed;
  return validateSource(parsed.source, gatewayFileSchema, plainNamer, GATEWAY_HINTS);
}

/** Reads a file for a loader, turning a read failure into an issue at 1:1. */
export async function readConfigText(
  file: string,
): Promise<{ text: string } | { issues: ConfigIssue[] }> {
  try {
    return { text: await readFile(file, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EACCES'
          ? 'permission denied'
          : `cannot read (${code ?? 'error'})`;
    return { issues: [{ file, line: 1, col: 1, severity: 'error', message: why }] };
  }
}

export async function loadRoutesFile(file: string): Promise<Loaded<RoutesFile>> {
  const read = await readConfigText(file);
  return 'issues' in read ? { ok: false, issues: read.issues } : parseRoutes(file, read.text);
}

export async function loadGatewayFile(file: string): Promise<Loaded<GatewayFile>> {
  const read = await readConfigText(file);
  return 'issues' in read ? { ok: false, issues: read.issues } : parseGateway(file, read.text);
}

/**
 * An issue about a key of an already-validated file (a missing secret, an unreadable file):
 * `message` follows the key's dotted path, as in every other issue.
 */
export function issueAt(
  source: YamlSource,
  path: readonly PropertyKey[],
  message: string,
  hint?: string,
): ConfigIssue {
  const { line, col } = source.position(path);
  const named = routeNamer(path, source.data);
  const field = formatPath(named.rest);
  const text = [named.subject && `${named.subject}:`, field, message].filter(Boolean).join(' ');
  return { file: source.file, line, col, severity: 'error', message: text, hint };
}
