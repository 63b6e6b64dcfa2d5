import { withoutControlCharacters } from '../jit/free-text.js';
import { EXIT_FAILURE, UsageError } from './io.js';
import type { CliIo } from './io.js';

/** The options of every command that calls the admin API (`sessions`, `grants`). */
export const ADMIN_API_OPTIONS = {
  'admin-url': { type: 'string' },
  'admin-token': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const ADMIN_API_USAGE = '[--admin-url http://127.0.0.1:9091] [--admin-token T] [--json]';

const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9091';
const TIMEOUT_MS = 10_000;

function adminUrlOf(value: string | undefined): URL {
  const url = URL.parse(value ?? DEFAULT_ADMIN_URL);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new UsageError(`--admin-url must be an http(s) URL, not "${value}"`);
  return url;
}

export interface AdminCall {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string | undefined>;
  /** Sent as JSON. */
  readonly body?: unknown;
}

/**
 * Calls the admin API (SPEC §9) with the URL and token from flags or ZTNA_ADMIN_URL /
 * ZTNA_ADMIN_TOKEN, the same variable the gateway reads its token from by default, so an
 * operator's shell needs it once. Resolves with the answer's JSON, or with the exit code after
 * saying on stderr why the call failed (unreachable, refused, the token).
 */
export async function callAdminApi(
  values: Record<string, unknown>,
  call: AdminCall,
  io: CliIo,
): Promise<Record<string, unknown> | number> {
  const url = new URL(call.path, adminUrlOf(values['admin-url'] as string | undefined));
  for (const [name, value] of Object.entries(call.query ?? {}))
    if (value !== undefined) url.searchParams.set(name, value);
  const token = values['admin-token'] as string | undefined;
  let response: Response;
  try {
    response = await fetch(url, {
      method: call.method,
      headers: {
        ...(token !== undefined && { authorization: `Bearer ${token}` }),
        ...(call.body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(call.body !== undefined && { body: JSON.stringify(call.body) }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    io.stderr(`cannot reach the admin API at ${url.origin}: ${(error as Error).message}`);
    return EXIT_FAILURE;
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const why =
      response.status === 401
        ? 'the admin token is missing or wrong (--admin-token or ZTNA_ADMIN_TOKEN)'
        : String(body.error ?? response.statusText);
    io.stderr(`admin API answered ${response.status}: ${why}`);
    return EXIT_FAILURE;
  }
  return body;
}

/**
 * Rows as aligned columns under a header, the way `kubectl get` prints them. Cells carry what
 * people typed (reasons, names): control characters are shown as U+FFFD, so no cell moves the
 * cursor, rewrites the terminal's title or forges a row of its own.
 */
export function table(
  header: readonly string[],
  cellsOf: readonly (readonly string[])[],
): string[] {
  const rows = cellsOf.map((cells) => cells.map(withoutControlCharacters));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
