/**
 * The assertion's `iss` when `assertion.issuer` is unset (SPEC §8): the route's public URL,
 * built from configuration only — the route's configured host and the scheme the gateway
 * serves the request on (TLS, or `X-Forwarded-Proto` from a trusted proxy) — never from the
 * client's Host header, whose case, port and trailing dot the client chooses.
 *
 * A wildcard route (`*.corp.example`) has no single URL; its domain stands for it
 * (`https://corp.example`), the same for every host it matches. Deployments with wildcard
 * routes whose upstreams check `iss` should set `assertion.issuer`. No port: the listener's
 * port is rarely the one people use (a load balancer usually sits in front).
 */
export function routePublicUrl(routeHost: string, scheme: 'http' | 'https'): string {
  const host = routeHost.startsWith('*.') ? routeHost.slice(2) : routeHost;
  return `${scheme}://${host}`;
}
