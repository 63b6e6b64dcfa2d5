import type { CompiledCondition } from '../types.js';

/** Whether `segments` starts with `prefix`, segment by segment (`/app` is not `/application`). */
export function hasSegmentPrefix(segments: readonly string[], prefix: readonly string[]): boolean {
  if (prefix.length > segments.length) return false;
  for (let i = 0; i < prefix.length; i++) if (segments[i] !== prefix[i]) return false;
  return true;
}

/**
 * `paths: [/reports, /exports]`: the canonical path is under one of these prefixes, on whole
 * segments, compared by segment name (`;params` do not hide a path). The query never counts.
 */
export function compilePaths(
  paths: readonly string[],
  segmentsOf: (path: string) => readonly string[],
): CompiledCondition {
  const prefixes = paths.map(segmentsOf);
  return {
    kind: 'paths',
    description: `path under [${paths.join(', ')}]`,
    test: (input) => prefixes.some((prefix) => hasSegmentPrefix(input.request.segments, prefix)),
  };
}
