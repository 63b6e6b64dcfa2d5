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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type PostureIssuer = Awaited<ReturnType<typeof createPostureIssuer>>;
