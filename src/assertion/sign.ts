import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { RequestContext } from '../pipeline/context.js';
import { postureResultOf } from '../audit/posture-result.js';
import { routePublicUrl } from './issuer.js';
import type { AssertionKeys } from './keys.js';

export interface AssertionSignerOptions {
  readonly keys: AssertionKeys;
  readonly ttlMs: number;
  /** A fixed `iss` (`assertion.issuer`); undefined: the route's public URL (routePublicUrl). */
  readonly issuer: string | undefined;
  readonly now: () => number;
  readonly cacheSize?: number;
}

interface Signed {
  readonly token: string;
  readonly reuseUntil: number;
}

/**
 * Signs the identity assertion (SPEC §8): an ES256 JWT that the upstream can verify against
 * `/.ztna/jwks.json`, with `iss` (from configuration, never the client's Host), `aud` (the route name), the
 * identity, device and posture summary, `iat`, `exp` (`assertion.ttl`) and `jti`.
 *
 * The same claims are not signed again until half the ttl has passed: requests of one user to
 * one route reuse the assertion (DESIGN §5), so a page with fifty assets costs one signature.
 * The `jti` therefore names the assertion, not each request.
 *
 * A request a just-in-time grant let in carries `grant: { name, exp }` (SPEC §8, §13), so the
 * upstream knows the access is temporary. Such an assertion never outlives the grant: its `exp`
 * is the grant's at the latest, and it is not reused past it.
 */
export function createAssertionSigner(options: AssertionSignerOptions) {
  const cache = new Map<string, Signed>();
  const cacheSize = options.cacheSize ?? 10_000;
  const ttlSeconds = Math.max(1, Math.round(options.ttlMs / 1000));

  return async function assertionFor(context: RequestContext): Promise<string | undefined> {
    const identity = context.identity;
    if (identity === undefined || context.route === undefined) return undefined;
    const grant = context.usedGrant;
    const grantExp = grant === undefined ? undefined : Math.floor(grant.expiresAt / 1000);
    const claims = {
      iss: options.issuer ?? routePublicUrl(context.route.host, context.scheme),
      aud: context.route.name,
      sub: identity.sub,
      ...(identity.email !== undefined && { email: identity.email }),
      ...(identity.groups !== undefined && { groups: identity.groups }),
      ...(context.posture?.facts?.deviceId !== undefined && {
        device_id: context.posture.facts.deviceId,
      }),
      ...(postureResultOf(context) !== undefined && { posture: postureResultOf(context) }),
      auth: context.auth,
      // Part of the claims, so of the cache key: a grant's assertion is never served without it.
      ...(grant !== undefined && { grant: { name: grant.grant, exp: grantExp } }),
    };
    const key = JSON.stringify(claims);
    const now = options.now();
    const cached = cache.get(key);
    if (cached !== undefined && now < cached.reuseUntil) return cached.token;
    const iat = Math.floor(now / 1000);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: options.keys.signingKid, typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(Math.min(iat + ttlSeconds, grantExp ?? Infinity))
      .setJti(randomUUID())
      .sign(options.keys.signingKey);
    if (cached === undefined && cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(key, {
      token,
      reuseUntil: Math.min(now + options.ttlMs / 2, grant?.expiresAt ?? Infinity),
    });
    return token;
  };
}

export type AssertionSigner = ReturnType<typeof createAssertionSigner>;
