import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { resolveRedirectTarget } from '../auth/redirect-target.js';
import { ERROR_CODES } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { readAccessAsk, readAccessDecision } from '../jit/access-forms.js';
import {
  APPROVER_STEP_UP,
  approverName,
  approvingOffer,
  createFreshMfaCheck,
  decidedHere,
  decisionUrl,
  isOwnRequest,
  rawEmailOf,
} from '../jit/approval.js';
import type { JitRecorder } from '../jit/events.js';
import { heldBy } from '../jit/grant-store.js';
import type { GrantStore } from '../jit/grant-store.js';
import { granteeName, granteeOf } from '../jit/grants.js';
import type { AccessRequest, Grant, Grantee } from '../jit/grants.js';
import { sameToken } from '../lib/same-token.js';
import { accessPage } from '../pages/access.js';
import { errorPage } from '../pages/error.js';
import { html } from '../pages/render.js';
import { isClickedSameOriginForm } from './fetch-metadata.js';
import type { PageSender } from '../pages/render.js';
import { isAnswer } from '../pipeline/answer.js';
import type { Answer } from '../pipeline/answer.js';
import { loginUrlFor } from '../pipeline/authenticate.js';
import { addressedContextOf, originOf } from '../pipeline/context.js';
import type { AddressedContext } from '../pipeline/context.js';
import { recentlySteppedUp } from '../pipeline/decide.js';
import type { HttpRenderer } from '../pipeline/render-http.js';
import { identifyBrowser, settle } from '../pipeline/run.js';
import type { LiveSession, PipelineSources } from '../pipeline/sources.js';
import type { Identity } from '../policy/types.js';

export interface AccessDeps {
  /** Requests and grants, in the session store (shared by every instance with Redis). */
  readonly grants: GrantStore;
  readonly recordJit: JitRecorder;
  /** The IdP's acr values that mean MFA: approvers need a second factor (SPEC §13). */
  readonly mfaAcrValues: readonly string[];
  readonly now: () => number;
  readonly sessionMaxAgeMs: number;
  /** The pipeline's sources: these pages run the same session steps as a route. */
  readonly sources: PipelineSources;
  readonly sendPage: PageSender;
  readonly renderHttp: HttpRenderer;
}

/** A signed-in person at one of the access endpoints. */
interface Visitor {
  readonly context: AddressedContext;
  readonly session: LiveSession;
  readonly identity: Identity;
  readonly grantee: Grantee;
}

/**
 * The person-facing side of just-in-time access (SPEC §13) on every route host:
 * `POST /.ztna/access/request` (ask, from the deny page), `GET /.ztna/access` (follow one's own
 * requests and grants; approvers see what they may decide) and `POST /.ztna/access/decide`.
 * Every form is a POST with the session's CSRF token; the approver rule, MFA and the refusal of
 * self-approval are checked on the server at decision time, whatever the page showed.
 */
export function createAccessHandlers(deps: AccessDeps) {
  const freshMfa = createFreshMfaCheck(deps.mfaAcrValues);

  /** A sign-in with a second factor at most APPROVER_MFA_MAX_AGE_MS ago. */
  function hasFreshMfa(visitor: Visitor, now: number): boolean {
    const { context, identity } = visitor;
    return freshMfa(
      {
        identity,
        request: {
          method: context.method,
          path: context.target.path,
          segments: context.target.segments,
          ip: context.clientIp,
        },
      },
      now,
    );
  }

  /** Whether the person is among the approvers of the request's offer as the table says now. */
  const approves = (context: AddressedContext, identity: Identity, request: AccessRequest) =>
    approvingOffer(context.table.offers, identity, request);

  /** The signed-in person, or undefined once the answer (sign in, 503…) has been sent. */
  async function visitor(req: Request, res: Response): Promise<Visitor | undefined> {
    const context = addressedContextOf(req);
    const known = await identifyBrowser(context, req, deps.sources, {
      sessionMaxAgeMs: deps.sessionMaxAgeMs,
    });
    if (isAnswer(known)) {
      answer(req, res, context, known);
      return undefined;
    }
    const identity = known.session.data.user;
    const grantee = granteeOf(identity);
    if (grantee === undefined) throw new TypeError('a browser session is a person');
    context.identity = identity;
    context.auth = 'session';
    context.posture = known.posture;
    return { context, session: known.session, identity, grantee };
  }

  function answer(req: Request, res: Response, context: AddressedContext, result: Answer): void {
    settle(context, result);
    deps.renderHttp(req, res, result, context);
  }

  /** A form that cannot be taken: 400 with `problem`, what to fix. */
  function invalidForm(
    req: Request,
    res: Response,
    context: AddressedContext,
    note: string,
    problem: string,
  ): void {
    refuse(req, res, context, 'ZTNA_ERR_ACCESS_FORM_INVALID', note, problem);
  }

  /** A refusal with its code; `problem` says what to fix when the form was wrong. */
  function refuse(
    req: Request,
    res: Response,
    context: AddressedContext,
    code: ErrorCode,
    note: string,
    problem?: string,
  ): void {
    const status = ERROR_CODES[code].status;
    context.outcome = status === 403 ? 'deny' : 'error';
    context.note = note;
    const page = errorPage(code, problem === undefined ? undefined : html`<p>${problem}</p>`);
    deps.sendPage(
      req,
      res,
      problem === undefined ? page : { ...page, json: { ...page.json, problem } },
      context.requestId,
    );
  }

  /** A path on this host to return to, from a client's `rd`; undefined when it is not one. */
  function sameHostPath(context: AddressedContext, rd: unknown): string | undefined {
    if (typeof rd !== 'string' || !rd.startsWith('/')) return undefined;
    const base = { scheme: context.scheme, authority: context.host.authority };
    const target = resolveRedirectTarget(rd, base, () => false);
    if (target === undefined) return undefined;
    const url = new URL(target);
    return url.pathname + url.search;
  }

  /**
   * The signed-in person who sent one of the two forms, or undefined once refused: only a
   * button the person clicked on a page of this origin (a script there, an upstream app's,
   * can read the form token: it gets a 403 and nothing changes), with the session's token.
   */
  async function formSender(
    req: Request,
    res: Response,
    step: 'access_request' | 'access_decide',
  ): Promise<Visitor | undefined> {
    const known = await visitor(req, res);
    if (known === undefined) return undefined;
    const { context, session } = known;
    if (!isClickedSameOriginForm(req.headers))
      refuse(req, res, context, 'ZTNA_ERR_ACCESS_FORM_NOT_CLICKED', `${step}:not_clicked`);
    else if (!sameToken(session.data.csrf, formOf(req)?.csrf))
      refuse(req, res, context, 'ZTNA_ERR_ACCESS_CSRF', `${step}:csrf`);
    else return known;
    return undefined;
  }

  function formOf(req: Request): Readonly<Record<string, unknown>> | undefined {
    return req.body as Readonly<Record<string, unknown>> | undefined;
  }

  return {
    /** POST /.ztna/access/request: a denied person asks for the grant a route offers. */
    async request(req: Request, res: Response): Promise<void> {
      const known = await formSender(req, res, 'access_request');
      if (known === undefined) return;
      const { context, identity, grantee } = known;
      const ask = readAccessAsk(formOf(req), context.table.offers);
      if (!ask.ok) return invalidForm(req, res, context, 'access_request:invalid', ask.problem);
      const { offer, durationMs, reason, returnTo } = ask.value;
      const back = sameHostPath(context, returnTo);
      if (returnTo !== undefined && back === undefined)
        return invalidForm(
          req,
          res,
          context,
          'access_request:invalid',
          'The return address is not a page of this site.',
        );
      const now = deps.now();
      const held = await deps.grants.grantsOf(grantee, now);
      if (held.some((g) => g.grant === offer.grant))
        return refuse(
          req,
          res,
          context,
          'ZTNA_ERR_ACCESS_ALREADY_GRANTED',
          'access_request:already_granted',
        );
      const { request, created } = await deps.grants.request({
        id: randomUUID(),
        grant: offer.grant,
        route: offer.route,
        user: grantee,
        userName: identity.name ?? granteeName(grantee),
        requesterEmail: rawEmailOf(identity),
        durationMs,
        reason,
        requestedAt: now,
      });
      // Asking twice files nothing new, and writes no second line: the first request stands.
      if (created)
        deps.recordJit({
          event: 'requested',
          subject: request,
          by: granteeName(grantee),
          requestId: context.requestId,
        });
      context.outcome = 'allow';
      context.note = created ? 'access_request' : 'access_request:pending_already';
      const query = back === undefined ? '' : `?rd=${encodeURIComponent(back)}`;
      res.redirect(303, `${originOf(context)}/.ztna/access${query}`);
    },

    /** GET /.ztna/access: the person's grants and requests; for approvers, what to decide. */
    async page(req: Request, res: Response): Promise<void> {
      const known = await visitor(req, res);
      if (known === undefined) return;
      const { context, session, identity, grantee } = known;
      const now = deps.now();
      const [grants, pending] = await Promise.all([
        deps.grants.grantsOf(grantee, now),
        deps.grants.pending(),
      ]);
      const ownRequests = pending.filter((r) => heldBy(r, grantee));
      const approvable = pending.flatMap((request) => {
        const offer = isOwnRequest(request, identity)
          ? undefined
          : approves(context, identity, request);
        return offer === undefined ? [] : [{ request, offer }];
      });
      const decidable = approvable.filter((a) => decidedHere(a.offer, context.route));
      const elsewhere = approvable
        .filter((a) => !decidedHere(a.offer, context.route))
        .map((a) => ({
          request: a.request,
          url: decisionUrl(a.offer, context.scheme, context.host.authority),
        }));
      let decideNeedsMfa = false;
      // Only a person with something to decide is sent to step up: the rest just see the page.
      if (decidable.length > 0 && !hasFreshMfa(known, now)) {
        // Once: when the sign-in just made for it still brought no second factor, say so.
        if (!recentlySteppedUp(session.data, now)) {
          deps.sources.observe.authEvent('step_up');
          return answer(req, res, context, {
            answer: 'step_up',
            decision: APPROVER_STEP_UP,
            loginUrl: loginUrlFor(context, APPROVER_STEP_UP),
          });
        }
        decideNeedsMfa = true;
      }
      context.outcome = 'allow';
      context.note = 'access_page';
      const view = {
        identity,
        csrf: session.data.csrf,
        grants,
        ownRequests,
        toDecide: decideNeedsMfa ? [] : decidable.map((a) => a.request),
        decideElsewhere: elsewhere,
        decideNeedsMfa,
        returnTo: sameHostPath(context, req.query.rd),
        now,
      };
      deps.sendPage(req, res, accessPage(view), context.requestId);
    },

    /** POST /.ztna/access/decide: an approver (with MFA, never the requester) decides. */
    async decide(req: Request, res: Response): Promise<void> {
      const known = await formSender(req, res, 'access_decide');
      if (known === undefined) return;
      const { context, identity } = known;
      const form = readAccessDecision(formOf(req));
      if (!form.ok) return invalidForm(req, res, context, 'access_decide:invalid', form.problem);
      const { id, decision, note } = form.value;
      const now = deps.now();
      const request = (await deps.grants.pending()).find((r) => r.id === id);
      if (request === undefined)
        return refuse(req, res, context, 'ZTNA_ERR_ACCESS_ALREADY_DECIDED', 'access_decide:gone');
      const offer = approves(context, identity, request);
      if (offer === undefined)
        return refuse(
          req,
          res,
          context,
          'ZTNA_ERR_ACCESS_NOT_APPROVER',
          'access_decide:not_approver',
        );
      if (isOwnRequest(request, identity))
        return refuse(req, res, context, 'ZTNA_ERR_ACCESS_SELF_APPROVAL', 'access_decide:self');
      if (!decidedHere(offer, context.route))
        return refuse(
          req,
          res,
          context,
          'ZTNA_ERR_ACCESS_DECIDE_ELSEWHERE',
          'access_decide:elsewhere',
        );
      if (!hasFreshMfa(known, now))
        return refuse(req, res, context, 'ZTNA_ERR_ACCESS_MFA_REQUIRED', 'access_decide:mfa');
      // One winner, on every instance: a second approver (or a second click) finds it gone.
      const taken = await deps.grants.takeRequest(id);
      if (taken === undefined)
        return refuse(req, res, context, 'ZTNA_ERR_ACCESS_ALREADY_DECIDED', 'access_decide:gone');
      const by = approverName(identity);
      if (decision === 'approve') {
        // The offer may have shrunk since the request: never give more than it allows now.
        const durationMs = Math.min(taken.durationMs, offer.maxDurationMs);
        const grant: Grant = {
          id: randomUUID(),
          grant: taken.grant,
          user: taken.user,
          grantedAt: now,
          expiresAt: now + durationMs,
          grantedBy: by,
          reason: taken.reason,
          requestId: taken.id,
          requesterEmail: taken.requesterEmail,
        };
        await deps.grants.issue(grant);
        deps.recordJit({ event: 'approved', subject: grant, by, requestId: context.requestId });
      } else {
        deps.recordJit({
          event: 'rejected',
          subject: taken,
          by,
          reason: note === '' ? taken.reason : note,
          requestId: context.requestId,
        });
      }
      context.outcome = 'allow';
      context.note = `access_decide:${decision}`;
      res.redirect(303, `${originOf(context)}/.ztna/access`);
    },
  };
}
