import type { RouteTable } from '../config/route-table.js';
import type { JitOffer } from '../jit/offer.js';
import type { Identity } from '../policy/types.js';
import type { CollectedPosture } from '../posture/collect.js';
import { simulate } from './explain.js';
import type { DescribedRequest, DescribedSession, Simulation } from './explain.js';

/** The same request, had the person held one more grant. */
export interface GrantWhatIf {
  readonly grant: string;
  /** The `jit` that declares the grant: its approvers and limits. */
  readonly offer: JitOffer | undefined;
  /** Whether this very denial's page offers to ask for it (a deny, enforced, on its jit). */
  readonly offeredHere: boolean;
  readonly outcome: Simulation;
}

/** What grants change about a simulated request (SPEC §13: `explain` shows it). */
export interface GrantsExplained {
  /** Not allowed: the decision with each grant the governing policy tests and the person lacks. */
  readonly wouldChange: readonly GrantWhatIf[];
  /** Allowed by a rule testing a grant the person holds: that grant, and the decision without it. */
  readonly allowedBy?: { readonly grant: string; readonly without: Simulation } | undefined;
}

/**
 * Re-simulates a request with and without grants, to say when one would change the decision.
 * Only for a signed-in person: nobody else ever holds a grant.
 */
export async function explainGrants(
  table: RouteTable,
  request: DescribedRequest,
  identity: Identity | undefined,
  posture: CollectedPosture | undefined,
  session: DescribedSession,
  simulation: Simulation,
): Promise<GrantsExplained> {
  if (identity === undefined || identity.workload !== undefined) return { wouldChange: [] };
  const held = session.grants ?? [];
  const { decision } = simulation;
  if (decision.effect === 'allow') {
    const grant = decision.grant;
    if (grant === undefined || !held.includes(grant)) return { wouldChange: [] };
    const without = await simulate(table, request, identity, posture, {
      ...session,
      grants: held.filter((g) => g !== grant),
    });
    return { wouldChange: [], allowedBy: { grant, without } };
  }
  const candidates = new Set(simulation.testedGrants ?? []);
  if (decision.jit !== undefined) candidates.add(decision.jit);
  const wouldChange: GrantWhatIf[] = [];
  for (const grant of candidates) {
    if (held.includes(grant)) continue;
    const outcome = await simulate(table, request, identity, posture, {
      ...session,
      grants: [...held, grant],
    });
    wouldChange.push({
      grant,
      offer: table.offers.get(grant),
      offeredHere: decision.jit === grant && decision.effect === 'deny' && !simulation.auditOnly,
      outcome,
    });
  }
  return { wouldChange };
}
