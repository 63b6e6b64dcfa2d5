import { parseOptions } from './args.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';
import type { CliIo } from './io.js';

export const SESSIONS_USAGE =
  'ztna-gateway sessions list|revoke --user EMAIL|SUB [--admin-url http://127.0.0.1:9091] [--admin-token T] [--json]';

const OPTIONS = {
  user: { type: 'string' },
  'admin-url': { type: 'string' },
  'admin-token': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9091';
const TIMEOUT_MS = 10_000;

interface SessionRow {
  readonly ref: string;
  readonly sub: string;
  readonly email: string | null;
  readonly created_at: string | null;
  readonly device_id: string | null;
}

function adminUrlOf(value: string | undefined): URL {
  const url = URL.parse(value ?? DEFAULT_ADMIN_URL);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new UsageError(`--admin-url must be an http(s) URL, not "${value}"`);
  return url;
}

function table(rows: readonly SessionRow[]): string[] {
  const cells = rows.map((r) => [
    r.ref,
    r.sub,
    r.email ?? '-',
    r.created_at ?? '-',
    r.device_id ?? '-',
  ]);
  const header = ['REF', 'SUB', 'EMAIL', 'CREATED', 'DEVICE'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)];
}

/**
 * `ztna-gateway sessions list|revoke --user`: the admin API (SPEC §9) from a terminal. The URL
 * and token come from flags or ZTNA_ADMIN_URL / ZTNA_ADMIN_TOKEN, the same variable the gateway
 * reads its token from by default, so an operator's shell needs it once.
 */
export async function runSessions(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, io.env, true);
  const [action, ...extra] = positionals;
  if ((action !== 'list' && action !== 'revoke') || extra.length > 0)
    throw new UsageError(`usage: ${SESSIONS_USAGE}`);
  const user = values.user as string | undefined;
  if (user === undefined || user.trim() === '') throw new UsageError('--user is required');

  const url = new URL('/admin/sessions', adminUrlOf(values['admin-url'] as string | undefined));
  url.searchParams.set('user', user);
  const token = values['admin-token'] as string | undefined;
  let response: Response;
  try {
    response = await fetch(url, {
      method: action === 'list' ? 'GET' : 'DELETE',
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
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
  if (values.json === true) {
    io.stdout(JSON.stringify(body));
    return EXIT_OK;
  }
  if (action === 'list') {
    const sessions = (body.sessions ?? []) as SessionRow[];
    if (sessions.length === 0) io.stdout(`no sessions for ${user}`);
    else for (const line of table(sessions)) io.stdout(line);
    return EXIT_OK;
  }
  io.stdout(
    `revoked ${String(body.revoked)} session(s) of ${user} on every instance; ` +
      `${String(body.websockets_closed)} WebSocket(s) closed on the instance asked, the others close theirs within a second`,
  );
  return EXIT_OK;
}
