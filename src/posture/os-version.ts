/**
 * Parses the leading dotted-numeric part of an OS version (`14.4.1 (23E224)` → [14, 4, 1]).
 * Undefined when there is none: an unreadable version never satisfies a minimum.
 */
export function parseVersion(text: string): number[] | undefined {
  const match = /^\d+(?:\.\d+)*/.exec(text.trim());
  return match === null ? undefined : match[0].split('.').map(Number);
}

/** Whether `version` >= `minimum`, segment by segment as numbers (10.0.19045 > 10.0.9999). */
export function isAtLeast(version: readonly number[], minimum: readonly number[]): boolean {
  const length = Math.max(version.length, minimum.length);
  for (let i = 0; i < length; i++) {
    const a = version[i] ?? 0;
    const b = minimum[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}
