import { ADMIN_API_OPTIONS, ADMIN_API_USAGE, callAdminApi, table } from './admin-api.js';
import type { AdminCall } from './admin-api.js';
import { parseOptions } from './args.js';
import { EXIT_OK, UsageError } from './io.js';
import type { CliIo } from './io.js';

export const GRANTS_USAGE = [
  `ztna-gateway grants list [--user EMAIL|SUB] ${ADMIN_API_USAGE}`,
  `  ztna-gateway grants add --user EMAIL|SUB --grant NAME --duration 2h --reason TEXT ${ADMIN_API_USAGE}`,
  `  ztna-gateway grants revoke (--id ID | --user EMAIL|SUB [--grant NAME]) ${ADMIN_API_USAGE}`,
].join('\n');

const OPTIONS = {
  user: { type: 'string' },
  grant: { type: 'string' },
  duration: { type: 'string' },
  reason: { type: 'string' },
  id: { type: 'string' },
  ...ADMIN_API_OPTIONS,
} as const;

interface GrantRow {
  readonly id: string;
  readonly grant: string;
  readonly sub: string | null;
  readonly email: string | null;
  readonly expires_at: string;
  readonly granted_by: string;
  readonly reason: string;
}

interface RequestRow {
  readonly id: string;
  readonly grant: string;
  readonly sub: string | null;
  readonly email: string | null;
  readonly duration: string;
  readonly requested_at: string;
  readonly reason: string;
}

type Values = Record<string, string | boolean | string[] | undefined>;

const given = (values: Values, name: string) => {
  const value = values[name];
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
};

function required(values: Values, name: string, action: string): string {
  const value = given(values, name);
  if (value === undefined) throw new UsageError(`grants ${action}: --${name} is required`);
  return value;
}

/** The admin API call an action makes; usage errors for what it needs and did not get. */
function callOf(action: string, values: Values): AdminCall {
  const path = '/admin/grants';
  if (action === 'list') return { method: 'GET', path, query: { user: given(values, 'user') } };
  if (action === 'add')
    return {
      method: 'POST',
      path,
      body: {
        user: required(values, 'user', 'add'),
        grant: required(values, 'grant', 'add'),
        duration: required(values, 'duration', 'add'),
        reason: required(values, 'reason', 'add'),
      },
    };
  const id = given(values, 'id');
  const user = given(values, 'user');
  if ((id === undefined) === (user === undefined))
    throw new UsageError('grants revoke: give --id ID, or --user EMAIL|SUB [--grant NAME]');
  if (id !== undefined && given(values, 'grant') !== undefined)
    throw new UsageError('grants revoke: --grant goes with --user, not with --id');
  return {
    method: 'DELETE',
    path,
    query: id !== undefined ? { id } : { user, grant: given(values, 'grant') },
  };
}

const who = (row: { sub: string | null; email: string | null }) => row.email ?? row.sub ?? '-';

function printList(body: Record<string, unknown>, io: CliIo): void {
  const grants = (body.grants ?? []) as GrantRow[];
  const pending = (body.pending ?? []) as RequestRow[];
  if (grants.length === 0) io.stdout('no running grants');
  else
    for (const line of table(
      ['ID', 'GRANT', 'FOR', 'EXPIRES', 'BY', 'REASON'],
      grants.map((g) => [g.id, g.grant, who(g), g.expires_at, g.granted_by, g.reason]),
    ))
      io.stdout(line);
  if (pending.length === 0) return;
  io.stdout('');
  io.stdout('pending requests (approvers decide them at /.ztna/access):');
  for (const line of table(
    ['ID', 'GRANT', 'FOR', 'DURATION', 'REQUESTED', 'REASON'],
    pending.map((r) => [r.id, r.grant, who(r), r.duration, r.requested_at, r.reason]),
  ))
    io.stdout(line);
}

/**
 * `ztna-gateway grants list|add|revoke`: just-in-time grants through the admin API (SPEC §9,
 * §13), with the URL and token of src/cli/admin-api.ts.
 */
export async function runGrants(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, io.env, true);
  const [action, ...extra] = positionals;
  if ((action !== 'list' && action !== 'add' && action !== 'revoke') || extra.length > 0)
    throw new UsageError(`usage: ${GRANTS_USAGE}`);
  const body = await callAdminApi(values, callOf(action, values), io);
  if (typeof body === 'number') return body;
  if (values.json === true) io.stdout(JSON.stringify(body));
  else if (action === 'list') printList(body, io);
  else if (action === 'add') {
    const grant = body.grant as GrantRow;
    io.stdout(
      `granted ${grant.grant} to ${who(grant)} until ${grant.expires_at} (id ${grant.id}); every instance sees it at once`,
    );
  } else
    io.stdout(
      `revoked ${String(body.revoked)} grant(s) on every instance; ` +
        `${String(body.websockets_closed)} WebSocket(s) closed on the instance asked, the others close theirs within a second`,
    );
  return EXIT_OK;
}
