import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { Logger } from 'pino';

/** The keys of the identity assertion: the newest signs, all are published (rotation). */
export interface AssertionKeys {
  readonly signingKey: CryptoKey;
  readonly signingKid: string;
  /** Public JWKS served at /.ztna/jwks.json. */
  readonly jwks: { readonly keys: readonly JWK[] };
}

/** Members of a private EC JWK that must never be published. */
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

/**
 * Reads a key file: one private JWK, or a JWKS of them (oldest first: the last one signs).
 * Every key must be an ES256 key (EC P-256) with its private part. Returns the keys or why not.
 */
export function parseAssertionKeyFile(text: string): JWK[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'must be a private JWK or a JWKS (the file is not JSON); ztna-gateway keys generate makes one';
  }
  const keys = Array.isArray((parsed as { keys?: unknown }).keys)
    ? ((parsed as { keys: unknown[] }).keys as JWK[])
    : [parsed as JWK];
  if (keys.length === 0) return 'must hold at least one key';
  for (const key of keys) {
    if (key.kty !== 'EC' || key.crv !== 'P-256' || typeof key.d !== 'string') {
      return 'must hold ES256 private keys (EC P-256 JWKs with "d"); ztna-gateway keys generate makes one';
    }
  }
  return keys;
}

async function publicPart(key: JWK): Promise<JWK> {
  const kid = key.kid ?? (await calculateJwkThumbprint(key));
  return {
    ...Object.fromEntries(Object.entries(key).filter(([name]) => !PRIVATE_MEMBERS.has(name))),
    kid,
    alg: 'ES256',
    use: 'sig',
  };
}

/** A new private signing key (`ztna-gateway keys generate`), with its RFC 7638 thumbprint as kid. */
export async function generateAssertionKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'ES256', use: 'sig' };
}

/**
 * Loads the assertion keys from `assertion.key_file` (validated at start), or generates one.
 * A generated key lives as long as the process: several instances then sign with different
 * keys and publish different JWKS, which is only fine for one instance (the warning says so).
 */
export async function loadAssertionKeys(
  file: string | undefined,
  log: Logger,
): Promise<AssertionKeys> {
  let keys: JWK[];
  if (file === undefined) {
    keys = [await generateAssertionKey()];
    log.warn(
      'assertion.key_file is not set: signing identity assertions with a key generated at start; several instances would disagree (ztna-gateway keys generate)',
    );
  } else {
    const parsed = parseAssertionKeyFile(await readFile(file, 'utf8'));
    if (typeof parsed === 'string') throw new TypeError(`${file} ${parsed}`);
    keys = parsed;
  }
  const published = await Promise.all(keys.map(publicPart));
  const newest = keys.at(-1)!;
  return {
    signingKey: (await importJWK({ ...newest, alg: 'ES256' }, 'ES256')) as CryptoKey,
    signingKid: published.at(-1)!.kid!,
    jwks: { keys: published },
  };
}
