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
