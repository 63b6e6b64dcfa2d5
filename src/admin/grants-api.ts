import { randomUUID } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import type { RouteTable } from '../config/route-table.js';
import type { JitRecorder } from '../jit/events.js';
import { hasControlCharacters, MAX_REASON_LENGTH } from '../jit/free-text.js';
import { isFor } from '../jit/grant-store.js';
import type { GrantMatch, GrantStore } from '../jit/grant-store.js';
import { granteeNamed } from '../jit/grants.js';
import type { AccessRequest, Grant } from '../jit/grants.js';
import { formatDuration, parseDuration } from '../lib/duration.js';
import type { RevocationSource } from '../revocation/bus.js';

/** The shortest grant an admin can issue: anything shorter expires before it is used. */
export const MIN_ADMIN_GRANT_MS = 60_000;
/** A sub or an email; longer is not a person's name at any IdP. */
const MAX_USER_LENGTH = 320;

export interface GrantsApiDeps {
  readonly grants: GrantStore;
  /** The route table in effect: its `offers` say which grants exist and for how long at most. */
  readonly routes: () => RouteTable;
  readonly recordJit: JitRecorder;
  /** Closes the WebSockets revoked grants let through, on every instance. */
  readonly grantsEnded: (grants: readonly Grant[], source: RevocationSource) => number;
  readonly now: () => number;
}

/** Bad input: the admin gets a 400 with a sentence that says what to send instead. */
class BadInput extends Error {}

const iso = (ms: number) => new Date(ms).toISOString();

/** A grant as the API shows it: who, what, until when, by whom, why. No session, no token. */
function grantView(grant: Grant) {
  return {
    id: grant.id,
    grant: grant.grant,
    sub: grant.user.sub ?? null,
    email: grant.user.email ?? null,
    granted_at: iso(grant.grantedAt),
    expires_at: iso(grant.expiresAt),
    granted_by: grant.grantedBy,
    reason: grant.reason,
  };
}

/** A pending request as the API shows it (approvers decide it at /.ztna/access). */
function requestView(request: AccessRequest) {
  return {
    id: request.id,
    grant: request.grant,
    route: request.route,
    sub: request.user.sub ?? null,
    email: request.user.email ?? null,
    name: request.userName,
    duration: formatDuration(request.durationMs),
    requested_at: iso(request.requestedAt),
    reason: request.reason,
  };
}

/** A required text field: a string, trimmed, not empty, at most `max` characters, no controls. */
function text(value: unknown, name: string, example: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new BadInput(`${name} is required (for example ${example})`);
  const trimmed = value.trim();
  if (trimmed.length > max) throw new BadInput(`${name} must be at most ${max} characters`);
  if (hasControlCharacters(trimmed))
    throw new BadInput(`${name} must not contain control characters`);
  return trimmed;
}

function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadInput(`give ${name} once`);
  return value;
}

/** What POST /admin/grants asks for, checked against the route table in effect. */
function grantToIssue(body: unknown, table: RouteTable, now: number): Grant {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadInput(
      'send a JSON object (content-type: application/json): {"user", "grant", "duration", "reason"}',
    );
  const fields = body as Record<string, unknown>;
  const user = text(fields.user, 'user', '"bob@corp.example" or a sub', MAX_USER_LENGTH);
  const name = text(fields.grant, 'grant', '"wiki-admin"', 64);
  const offer = table.offers.get(name);
  if (offer === undefined) {
    const declared = [...table.offers.keys()].sort();
    throw new BadInput(
      `grant "${name}" is not declared by any jit in routes.yaml` +
        (declared.length > 0 ? ` (declared: ${declared.join(', ')})` : ' (none are declared)'),
    );
  }
  const durationText = text(fields.duration, 'duration', '"2h" or "30m"', 32);
  const duration = parseDuration(durationText);
  if (duration === undefined)
    throw new BadInput(`duration must be a duration like 30m or 2h, not "${durationText}"`);
  if (duration < MIN_ADMIN_GRANT_MS || duration > offer.maxDurationMs)
    throw new BadInput(
      `duration must be between 1m and ${formatDuration(offer.maxDurationMs)} (the max_duration of ${name}'s jit on route ${offer.route})`,
    );
  const reason = text(fields.reason, 'reason', '"incident 4711"', MAX_REASON_LENGTH);
  return {
    id: randomUUID(),
    grant: name,
    user: granteeNamed(user),
    grantedAt: now,
    expiresAt: now + duration,
    grantedBy: 'admin',
    reason,
  };
}

/** Which grants DELETE /admin/grants revokes: `?id=` or `?user=[&grant=]`, never both. */
function grantsToRevoke(req: Request): GrantMatch {
  const id = queryText(req, 'id');
  const user = queryText(req, 'user');
  const grant = queryText(req, 'grant');
  if (id !== undefined && (user !== undefined || grant !== undefined))
    throw new BadInput('give either ?id=ID or ?user=EMAIL|SUB[&grant=NAME], not both');
  if (id !== undefined) return { id: text(id, 'id', 'an id from GET /admin/grants', 64) };
  if (user === undefined)
    throw new BadInput('say which grants: ?id=ID or ?user=EMAIL|SUB[&grant=NAME]');
  return {
    user: granteeNamed(text(user, 'user', 'bob@corp.example', MAX_USER_LENGTH)),
    grant: grant === undefined ? undefined : text(grant, 'grant', 'wiki-admin', 64),
  };
}

/**
 * `/admin/grants` (SPEC §9, §13): list, issue and revoke just-in-time grants from the admin
 * listener, behind the same token as the sessions API. Every issue and revocation is a `jit`
 * audit line by `admin`, and a revocation closes the WebSockets the grants let through, on every
 * instance.
 */
export function createGrantsApi(deps: GrantsApiDeps): Router {
  const router = express.Router();

  router.get('/admin/grants', async (req: Request, res: Response) => {
    const userText = queryText(req, 'user');
    const user =
      userText === undefined
        ? undefined
        : granteeNamed(text(userText, 'user', 'bob@corp.example', MAX_USER_LENGTH));
    const now = deps.now();
    const [grants, pending] = await Promise.all([deps.grants.list(now), deps.grants.pending()]);
    res.json({
      grants: grants.filter((g) => user === undefined || isFor(g, user)).map(grantView),
      pending: pending.filter((r) => user === undefined || isFor(r, user)).map(requestView),
    });
  });

  router.post(
    '/admin/grants',
    express.json({ limit: '8kb' }),
    async (req: Request, res: Response) => {
      const issued = grantToIssue(req.body, deps.routes(), deps.now());
      // A person who asked already is answered by this grant: their request leaves the queue,
      // so no approver decides it a second time.
      const answered = (await deps.grants.pending()).filter(
        (r) => r.grant === issued.grant && isFor(r, issued.user),
      );
      let requestId: string | undefined;
      for (const request of answered)
        if ((await deps.grants.takeRequest(request.id)) !== undefined) requestId ??= request.id;
      const grant: Grant = { ...issued, ...(requestId !== undefined && { requestId }) };
      await deps.grants.issue(grant);
      deps.recordJit({ event: 'approved', subject: grant, by: 'admin', reason: grant.reason });
      res.status(201).json({ grant: grantView(grant) });
    },
  );

  router.delete('/admin/grants', async (req: Request, res: Response) => {
    const revoked = await deps.grants.revoke(grantsToRevoke(req));
    if (revoked.length === 0)
      return void res.status(404).json({ error: 'no running grant matched' });
    for (const grant of revoked) deps.recordJit({ event: 'revoked', subject: grant, by: 'admin' });
    const closed = deps.grantsEnded(revoked, 'admin');
    res.json({ revoked: revoked.length, websockets_closed: closed });
  });

  // Bad input is the admin's to fix (400); anything else (the store) is the outer handler's 503.
  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (error instanceof BadInput) return void res.status(400).json({ error: error.message });
    const status = (error as { status?: unknown; type?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500)
      return void res.status(status).json({
        error:
          status === 413
            ? 'the body is too large: send {"user", "grant", "duration", "reason"}'
            : 'the body is not valid JSON: send {"user", "grant", "duration", "reason"}',
      });
    next(error);
  });
  return router;
}
