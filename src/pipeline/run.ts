import { isGatewayError } from '../errors.js';
import type { Answer } from './answer.js';
import { isAnswer, noteOf, outcomeOf } from './answer.js';
import { authenticate, authenticateSession } from './authenticate.js';
import type { CollectedPosture } from '../posture/collect.js';
import type { LoadedSession as LiveSession } from '../session/read-session.js';
import type {
  AddressedContext,
  Decided,
  RequestContext,
  RequestHead,
  Resolved,
} from './context.js';
import { advance } from './context.js';
import { decide } from './decide.js';
import { offerAccess, readGrants, readsGrants } from './grants.js';
import { inspectDevice } from './device.js';
import { canonicalize, route } from './resolve.js';
import type { PipelineSources } from './sources.js';
import { checkUpgradeRequest, checkWebSocketTarget } from './upgrade-checks.js';

/**
 * Which transport the request came on: an HTTP request, a WebSocket upgrade, or an admin's
 * description (`explain`, `test`). The steps are the same; an upgrade has two checks more.
 */
export type Transport = 'http' | 'upgrade' | 'explain';

/** What the pipeline concluded. */
export type PipelineResult =
  /** Forward it: allowed, or denied in audit mode. */
  | { readonly kind: 'forward'; readonly context: Decided }
  /** Answer it without forwarding. */
  | { readonly kind: 'answer'; readonly answer: Answer }
  /** One of the gateway's own endpoints under `/.ztna/` (HTTP only). */
  | { readonly kind: 'endpoint'; readonly context: RequestContext };

export interface PipelineSettings {
  readonly sessionMaxAgeMs: number;
}

/**
 * The one place where the audit bookkeeping of an answered request is written: the outcome
 * and reason come from the answer (DESIGN §1), never from the step that answered.
 */
export function settle(context: RequestContext, answer: Answer): PipelineResult {
  context.outcome = outcomeOf(answer);
  context.note = noteOf(answer);
  if (answer.answer === 'deny' || answer.answer === 'step_up') context.decision = answer.decision;
  return { kind: 'answer', answer };
}

function settleForward(context: Decided): PipelineResult {
  context.outcome =
    context.decision.effect === 'allow'
      ? context.route.public
        ? 'public'
        : 'allow'
      : 'audit_deny';
  return { kind: 'forward', context };
}

/** Steps 3 to 5 on a routed request: authenticate, inspect the device, decide. */
async function authorize(
  context: Resolved,
  head: RequestHead,
  sources: PipelineSources,
  settings: PipelineSettings,
): Promise<PipelineResult> {
  const identified = await authenticate(context, head, sources, settings.sessionMaxAgeMs);
  if (isAnswer(identified)) return settle(context, identified);
  const authenticated = advance(context, identified);

  const device = await inspectDevice(authenticated, head, sources);
  if (isAnswer(device)) return settle(context, device);
  const inspected = advance(authenticated, device);
  const grants = readsGrants(inspected) ? await readGrants(inspected, sources) : undefined;
  const granted = advance(inspected, { grants });

  const decided = decide(granted, sources);
  if (isAnswer(decided)) {
    const offered =
      decided.answer === 'deny' ? await offerAccess(granted, decided, sources) : decided;
    return settle(context, offered);
  }
  return settleForward(advance(granted, decided));
}

/**
 * The signed-in browser behind a request to one of the gateway's own pages (`/.ztna/me`): the
 * same session steps as on any route that takes sessions (absolute lifetime, revocation,
 * token refresh, device binding), so a page never shows what a route would refuse.
 */
export async function identifyBrowser(
  context: AddressedContext,
  head: RequestHead,
  sources: PipelineSources,
  settings: PipelineSettings,
): Promise<Answer | { readonly session: LiveSession; readonly posture: CollectedPosture }> {
  const session = await sources.readSession(head, context.scheme);
  const identified = await authenticateSession(context, session, sources, settings.sessionMaxAgeMs);
  if (isAnswer(identified)) return identified;
  const live = identified.session;
  if (live === undefined) throw new TypeError('a browser session has a session');
  const device = await inspectDevice({ ...context, session: live }, head, sources);
  if (isAnswer(device)) return device;
  const posture = device.posture ?? { source: 'none', facts: undefined, email: undefined };
  return { session: live, posture };
}

/**
 * Runs SPEC §2 steps 1 to 5 on one request, for every transport: canonicalize and route,
 * (upgrades: WebSocket and Origin checks), authenticate, device posture, decide. Step 6
 * (record) runs when the answer is delivered, step 7 (forward) is the transport's.
 * Nothing thrown escapes: a failure is an error page (503 when the session store is down).
 */
export async function runPipeline(
  context: RequestContext,
  head: RequestHead,
  transport: Transport,
  sources: PipelineSources,
  settings: PipelineSettings,
): Promise<PipelineResult> {
  try {
    if (transport === 'upgrade') {
      const refusal = checkUpgradeRequest(head);
      if (refusal !== undefined) return settle(context, refusal);
    }
    const canonical = canonicalize(head);
    if (isAnswer(canonical)) return settle(context, canonical);
    const addressed = advance(context, canonical);
    const destination = route(addressed);
    if (isAnswer(destination)) return settle(context, destination);
    if (destination.endpoint) {
      advance(addressed, { route: destination.route });
      // The gateway's endpoints are pages and forms, never WebSockets.
      if (transport !== 'upgrade') return { kind: 'endpoint', context };
      return settle(context, {
        answer: 'page',
        code: 'ZTNA_ERR_ROUTE_NOT_FOUND',
        note: 'reserved_not_found',
      });
    }
    const resolved = advance(addressed, { route: destination.route });
    if (transport === 'upgrade') {
      const refusal = checkWebSocketTarget(resolved, head);
      if (refusal !== undefined) return settle(context, refusal);
    }
    return await authorize(resolved, head, sources, settings);
  } catch (error) {
    sources.observe.failure(context.requestId, error);
    const code = isGatewayError(error) ? error.code : 'ZTNA_ERR_INTERNAL';
    return settle(context, { answer: 'page', code, note: code });
  }
}
