import { timingSafeEqual } from 'node:crypto';

/**
 * Whether a form's token is the session's, compared in constant time: how long the comparison
 * takes says nothing about how much of a guess was right.
 */
export function sameToken(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
