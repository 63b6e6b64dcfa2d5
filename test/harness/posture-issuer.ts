import { createHmac } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly publicPem: string;
}

async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
    publicPem: await exportSPKI(publicKey),
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The posture a compliant company laptop reports. */
export const COMPLIANT = {
  managed: true,
  os: 'macos',
  os_version: '14.5',
  disk_encrypted: true,
  edr_running: true,
  firewall: true,
};

export interface MintOptions {
  readonly sub?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Seconds relative to now. */
  readonly iat?: number;
  readonly exp?: number | null;
  readonly nbf?: number;
  readonly kid?: string;
}

/**
 * A test MDM bridge: signs real ES256 posture assertions with rotating keys and publishes them
 * as a JWKS file and over HTTP. Also forges the tokens an attacker would try.
 */
export async function createPostureIssuer(issuer = 'https://mdm.test', audience = 'ztna-gateway') {
  let keys = [await newKey('k1')];
  let signing = keys[0]!;
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(jwks())),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;

  function jwks() {
    return { keys: keys.map((k) => k.publicJwk) };
  }

  function claimsFor(claims: Record<string, unknown>, options: MintOptions) {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: options.issuer ?? issuer,
      aud: options.audience ?? audience,
      sub: options.sub ?? 'device-1',
      iat: now + (options.iat ?? 0),
      ...(options.exp !== null && { exp: now + (options.exp ?? 300) }),
      ...(options.nbf !== undefined && { nbf: now + options.nbf }),
      ...claims,
    };
  }

  return {
    issuer,
    audience,
    jwksUrl,
    jwks,
    writeJwks: (file: string) => writeFile(file, JSON.stringify(jwks())),
    /** Adds a new key and signs with it from now on; the old key stays published. */
    async rotate(kid: string) {
      signing = await newKey(kid);
      keys = [...keys, signing];
    },
    /**
     * Stops publishing a key (a compromised or retired key): tokens it signed must stop
     * verifying. Sign with another key first (`rotate`); the file copy needs `writeJwks` again.
     */
    retire(kid: string) {
      if (signing.kid === kid) throw new Error(`rotate away from ${kid} before retiring it`);
      keys = keys.filter((k) => k.kid !== kid);
    },
    /** A validly signed assertion (ES256). */
    mint(claims: Record<string, unknown> = COMPLIANT, options: MintOptions = {}): Promise<string> {
      const kid = options.kid ?? signing.kid;
      return new SignJWT(claimsFor(claims, options))
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .sign(signing.privateKey);
    },
    /** `alg: none`: no signature at all. */
    unsigned(claims: Record<string, unknown> = COMPLIANT): string {
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsFor(claims, {}))}.`;
    },
    /** HS256 with the issuer's public key as the HMAC secret (algorithm confusion). */
    hmacWithPublicKey(claims: Record<string, unknown> = COMPLIANT): string {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: signing.kid })}.${b64(claimsFor(claims, {}))}`;
      return `${input}.${createHmac('sha256', signing.publicPem).update(input).digest('base64url')}`;
    },
    /** A valid token whose payload was edited afterwards (signature no longer matches). */
    async tampered(
      claims: Record<string, unknown> = { ...COMPLIANT, disk_encrypted: false },
    ): Promise<string> {
      const [header, , signature] = (await this.mint(claims)).split('.');
      return `${header}.${b64(claimsFor({ ...claims, disk_encrypted: true }, {}))}.${signature}`;
    },
    /**
     * The JWT attack set (issue 7): every forgery an attacker would try against a place that
     * accepts this issuer's tokens, each with the refusal reason the gateway must give.
     * `claims` and `options` make the otherwise valid token (subject, audience) for the place.
     */
    async attacks(
      claims: Record<string, unknown>,
      options: MintOptions = {},
    ): Promise<[name: string, token: string, reason: string][]> {
      const attacker = await newKey(signing.kid); // same kid as ours, not our key
      const valid = await this.mint(claims, options);
      const [header, payload, signature] = valid.split('.') as [string, string, string];
      const body = claimsFor(claims, options);
      // Signed by hand (WebCrypto ES256), so that headers jose would refuse to emit are possible.
      const signWith = async (
        key: CryptoKey,
        protectedHeader: Record<string, unknown>,
        payloadClaims: Record<string, unknown> = body,
      ) => {
        const input = `${b64(protectedHeader)}.${b64(payloadClaims)}`;
        const sig = await crypto.subtle.sign(
          { name: 'ECDSA', hash: 'SHA-256' },
          key,
          new TextEncoder().encode(input),
        );
        return `${input}.${Buffer.from(sig).toString('base64url')}`;
      };
      const unsignedWith = (alg: string) => `${b64({ alg, typ: 'JWT' })}.${b64(body)}.`;
      return [
        ['alg none', unsignedWith('none'), 'bad_algorithm'],
        ['alg None (case games)', unsignedWith('None'), 'bad_algorithm'],
        [
          'alg none with our signature kept',
          `${b64({ alg: 'none' })}.${payload}.${signature}`,
          'bad_algorithm',
        ],
        ['HS256 signed with our public key', this.hmacWithPublicKey(body), 'bad_algorithm'],
        [
          'payload edited after signing',
          `${header}.${b64({ ...body, sub: 'someone-else' })}.${signature}`,
          'bad_signature',
        ],
        ['signature stripped', `${header}.${payload}.`, 'bad_signature'],
        [
          'ES256 all-zero signature (psychic signatures)',
          `${header}.${payload}.${Buffer.alloc(64).toString('base64url')}`,
          'bad_signature',
        ],
        [
          'signed by another key under our kid',
          await signWith(attacker.privateKey, { alg: 'ES256', kid: signing.kid }),
          'bad_signature',
        ],
        [
          'its own key embedded in the header (jwk)',
          await signWith(attacker.privateKey, {
            alg: 'ES256',
            kid: signing.kid,
            jwk: attacker.publicJwk,
          }),
          'bad_signature',
        ],
        [
          'its own key set named in the header (jku)',
          await signWith(attacker.privateKey, {
            alg: 'ES256',
            kid: signing.kid,
            jku: 'https://evil.test/jwks.json',
          }),
          'bad_signature',
        ],
        [
          'a kid we never published',
          await this.mint(claims, { ...options, kid: 'k-unknown' }),
          'unknown_key',
        ],
        [
          'a kid that is a path',
          await this.mint(claims, { ...options, kid: '../../../../dev/null' }),
          'unknown_key',
        ],
        [
          'an unknown critical header',
          await signWith(signing.privateKey, {
            alg: 'ES256',
            kid: signing.kid,
            crit: ['x-evil'],
            'x-evil': 1,
          }),
          'malformed',
        ],
        ['expired', await this.mint(claims, { ...options, iat: -600, exp: -120 }), 'expired'],
        ['not yet valid', await this.mint(claims, { ...options, nbf: 600 }), 'not_yet_valid'],
        ['no exp', await this.mint(claims, { ...options, exp: null }), 'bad_claims'],
        [
          'exp as a string',
          await signWith(
            signing.privateKey,
            { alg: 'ES256', kid: signing.kid },
            { ...body, exp: String(body.exp) },
          ),
          'bad_claims',
        ],
        [
          'another audience',
          await this.mint(claims, { ...options, audience: 'another-service' }),
          'bad_claims',
        ],
        [
          'an issuer we do not know',
          await this.mint(claims, { ...options, issuer: 'https://evil.test' }),
          'unknown_issuer',
        ],
        ['a JWE (five parts)', `${header}.${payload}.x.y.z`, 'malformed'],
        ['not base64', '%%%.###.$$$', 'malformed'],
        [
          'oversized',
          `${header}.${b64({ ...body, pad: 'a'.repeat(10_000) })}.${signature}`,
          'too_large',
        ],
      ];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type PostureIssuer = Awaited<ReturnType<typeof createPostureIssuer>>;
