import { formatDuration } from '../lib/duration.js';
import type { GrantsExplained, GrantWhatIf } from '../pipeline/explain-grants.js';
import type { Simulation } from '../pipeline/explain.js';

/** The trace of a simulation as indented lines: rule by rule, condition by condition. */
export function traceLines(simulation: Simulation): string[] {
  const lines: string[] = [];
  let currentRule = '';
  for (const entry of simulation.trace) {
    if (entry.rule !== currentRule) {
      currentRule = entry.rule;
      lines.push(`  ${entry.rule}:`);
    }
    const detail = entry.detail === undefined ? '' : ` (${entry.detail})`;
    lines.push(`    ${entry.pass ? 'pass' : 'FAIL'}  ${entry.condition}${detail}`);
  }
  return lines;
}

/** One line naming the decision, as explain and test print it. */
export function decisionLine(simulation: Simulation): string {
  const { decision } = simulation;
  const rule = decision.rule === undefined ? '' : `, by ${decision.rule}`;
  const audit = simulation.auditOnly
    ? ' — route in audit mode: logged as audit_deny and let through'
    : '';
  return `${decision.effect} (${decision.reason}${rule})${audit}`;
}

/** `4h`, `90m`, `24h`: how long a grant may run, in the hours admins think in. */
function grantSpan(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : formatDuration(ms);
}

/** Where and from whom a grant is had: `ask at the deny page; approvers: groups wiki-owners; up to 4h`. */
function offerText(what: GrantWhatIf, simulation: Simulation): string {
  const { offer } = what;
  if (offer === undefined) return 'declared by no jit';
  const approvers = [
    offer.approvers.groups.size > 0 ? `groups ${[...offer.approvers.groups].join(', ')}` : '',
    offer.approvers.emails.size > 0 ? `emails ${[...offer.approvers.emails].join(', ')}` : '',
  ].filter(Boolean);
  return [
    what.offeredHere
      ? 'ask at the deny page'
      : simulation.auditOnly && offer.route === simulation.route?.name
        ? 'not offered while the route is in audit mode (nothing is denied), but an admin can give it'
        : `asked for where route ${offer.route}'s ${offer.label} denies, or given by an admin`,
    `approvers: ${approvers.join(', ')}`,
    `up to ${grantSpan(offer.maxDurationMs)}`,
    ...(offer.requireReason ? ['a reason is required'] : []),
  ].join('; ');
}

/** A what-if decision: `allow by rules[0].allow[0]`, or `still deny (…)`. */
function outcomeText(outcome: Simulation, before: Simulation): string {
  const { decision } = outcome;
  if (decision.effect === 'allow' && !outcome.auditOnly)
    return `allow by ${decision.rule ?? decision.reason}`;
  return `${decision.effect === before.decision.effect ? 'still ' : ''}${decisionLine(outcome)}`;
}

/**
 * What grants change about the decision (SPEC §13): for a request not allowed, the decision with
 * each grant its policy tests; for one allowed by a grant, that it was, and what it is without.
 */
export function grantLines(explained: GrantsExplained, simulation: Simulation): string[] {
  const lines = explained.wouldChange.map(
    (what) =>
      `with grant ${what.grant} (${offerText(what, simulation)}): ${outcomeText(what.outcome, simulation)}`,
  );
  const { allowedBy } = explained;
  if (allowedBy !== undefined) {
    const without = allowedBy.without.decision;
    lines.push(
      without.effect === 'allow'
        ? `allowed by grant ${allowedBy.grant}, though ${without.rule ?? without.reason} would allow without it`
        : `allowed by grant ${allowedBy.grant}; without it: ${decisionLine(allowedBy.without)}`,
    );
  }
  return lines;
}
