import { ADMIN_API_OPTIONS, ADMIN_API_USAGE, callAdminApi, table } from './admin-api.js';
import { parseOptions } from './args.js';
import { EXIT_OK, UsageError } from './io.js';
import type { CliIo } from './io.js';

export const SESSIONS_USAGE = `ztna-gateway sessions list|revoke --user EMAIL|SUB ${ADMIN_API_USAGE}`;

const OPTIONS = { user: { type: 'string' }, ...ADMIN_API_OPTIONS } as const;

interface SessionRow {
  readonly ref: string;
  readonly sub: string;
  readonly email: string | null;
  readonly created_at: string | null;
  readonly device_id: string | null;
}

/**
 * `ztna-gateway sessions list|revoke --user`: the admin API (SPEC §9) from a terminal, with the
 * URL and token of src/cli/admin-api.ts.
 */
export async function runSessions(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, io.env, true);
  const [action, ...extra] = positionals;
  if ((action !== 'list' && action !== 'revoke') || extra.length > 0)
    throw new UsageError(`usage: ${SESSIONS_USAGE}`);
  const user = values.user as string | undefined;
  if (user === undefined || user.trim() === '') throw new UsageError('--user is required');

  const body = await callAdminApi(
    values,
    { method: action === 'list' ? 'GET' : 'DELETE', path: '/admin/sessions', query: { user } },
    io,
  );
  if (typeof body === 'number') return body;
  if (values.json === true) {
    io.stdout(JSON.stringify(body));
    return EXIT_OK;
  }
  if (action === 'list') {
    const sessions = (body.sessions ?? []) as SessionRow[];
    if (sessions.length === 0) io.stdout(`no sessions for ${user}`);
    else
      for (const line of table(
        ['REF', 'SUB', 'EMAIL', 'CREATED', 'DEVICE'],
        sessions.map((r) => [
          r.ref,
          r.sub,
          r.email ?? '-',
          r.created_at ?? '-',
          r.device_id ?? '-',
        ]),
      ))
        io.stdout(line);
    return EXIT_OK;
  }
  io.stdout(
    `revoked ${String(body.revoked)} session(s) of ${user} on every instance; ` +
      `${String(body.websockets_closed)} WebSocket(s) closed on the instance asked, the others close theirs within a second`,
  );
  return EXIT_OK;
}
