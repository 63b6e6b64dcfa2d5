/**
 * Reads a claim by name or dotted path. Claim names may contain dots themselves (namespaced
 * claims `https://corp.example/groups`, Kubernetes' `"kubernetes.io": {"namespace": ...}`), so
 * at each level the longest run of segments that names a key wins: `kubernetes.io.namespace`
 * reads `claims["kubernetes.io"]["namespace"]`, `realm_access.roles` reads a nested list.
 */
export function readClaim(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  return readSegments(claims, path.split('.'));
}

function readSegments(value: unknown, segments: readonly string[]): unknown {
  if (segments.length === 0) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  for (let take = segments.length; take >= 1; take--) {
    const key = segments.slice(0, take).join('.');
    if (!Object.hasOwn(value, key)) continue;
    const found = readSegments((value as Record<string, unknown>)[key], segments.slice(take));
    if (found !== undefined) return found;
  }
  return undefined;
}
