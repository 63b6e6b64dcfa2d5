import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseAssertionKeyFile } from '../assertion/keys.js';
import { createCidrMatcher } from '../lib/cidr.js';
import { headerKey } from '../lib/property-key.js';
import { JWT_ALGORITHMS } from './gateway-schema.js';
import type { GatewayFile } from './gateway-schema.js';
import type { ConfigIssue } from './issues.js';
import { issueAt } from './load.js';
import type { YamlSource } from './yaml-source.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** gateway.yaml resolved for running: secrets read, files loaded, paths absolute. */
export interface GatewaySettings {
  readonly listen: ListenAddress;
  readonly adminListen: ListenAddress;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly routesFile: string;
  /** Whether a TCP peer is a proxy whose X-Forwarded-* we believe. */
  readonly isTrustedProxy: (ip: string) => boolean;
  readonly idp: {
    readonly issuer: URL;
    readonly clientId: string;
    readonly clientSecret: string;
    readonly clientAuth: 'client_secret_basic' | 'client_secret_post';
    readonly scopes: readonly string[];
    readonly groupsClaim: string;
    readonly mfaAcrValues: readonly string[];
  };
  /** Bearer token every admin endpoint requires; undefined: the admin listener is open. */
  readonly adminToken: string | undefined;
  readonly session: {
    /** `memory` (one instance) or a Redis URL shared by every instance. */
    readonly store: { readonly kind: 'memory' } | { readonly kind: 'redis'; readonly url: string };
    readonly secret: string;
    readonly cookieName: string;
    readonly cookieDomain: string | undefined;
    readonly maxAgeMs: number;
    readonly idleTimeoutMs: number;
  };
  readonly posture: {
    readonly issuers: readonly JwtIssuerSettings[];
    /** Whether a TCP peer may send plain X-Device-* headers (an MDM-aware proxy). */
    readonly isTrustedProxy: (ip: string) => boolean;
    readonly clockSkewMs: number;
  };
  readonly serviceTokens: readonly JwtIssuerSettings[];
  /** Shared Signals transmitters whose SETs /.ztna/ssf accepts (SPEC §14). */
  readonly sharedSignals: readonly JwtIssuerSettings[];
  readonly assertion: {
    /** Lower-case header name the signed identity assertion is sent in. */
    readonly header: string;
    /** Absolute path of the private JWK or JWKS; undefined: a key is generated at start. */
    readonly keyFile: string | undefined;
    readonly ttlMs: number;
    /** A fixed `iss`; undefined: each route's public URL (https://wiki.corp.example). */
    readonly issuer: string | undefined;
  };
  readonly limits: {
    readonly maxHeaderBytes: number;
    readonly headerTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    /** Failed sign-ins per client address (IPv6 /64) per minute; successes never count. */
    readonly failedSignInsPerMinute: number;
  };
  readonly logLevel: GatewayFile['log']['level'];
}

/** An issuer of JWTs the gateway accepts from others (posture assertions, service tokens). */
export interface JwtIssuerSettings {
  /** service_tokens only: the entry's `name` (what `issuers` conditions write), if it has one. */
  readonly name?: string | undefined;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  /** Exactly one of these. */
  readonly jwksUri: URL | undefined;
  /** Absolute path of a JWKS file; re-read when a token names an unknown key (rotation). */
  readonly jwksFile: string | undefined;
}

/** Minimum session secret length in bytes (SPEC §4.1). */
export const MIN_SESSION_SECRET_BYTES = 32;

export function parseListenAddress(text: string): ListenAddress {
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host: host === '' ? '0.0.0.0' : host, port: Number(text.slice(colon + 1)) };
}

/** Where a secret comes from: the env var or file named at `section.envKey` / `section.fileKey`. */
interface SecretSource {
  readonly section: string;
  readonly envKey: string;
  readonly fileKey: string;
  readonly env: string | undefined;
  readonly file: string | undefined;
}

async function readSecret(
  source: YamlSource,
  base: string,
  env: NodeJS.ProcessEnv,
  spec: SecretSource,
  issues: ConfigIssue[],
): Promise<string> {
  if (spec.env !== undefined) {
    const value = env[spec.env];
    if (value === undefined || value === '') {
      issues.push(
        issueAt(
          source,
          [spec.section, spec.envKey],
          `names ${spec.env}, which is not set`,
          `export ${spec.env}=...`,
        ),
      );
      return '';
    }
    return value;
  }
  try {
    return (await readFile(resolve(base, spec.file!), 'utf8')).trim();
  } catch (error) {
    issues.push(
      issueAt(
        source,
        [spec.section, spec.fileKey],
        `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      ),
    );
    return '';
  }
}

async function readPem(
  source: YamlSource,
  base: string,
  path: string[],
  file: string,
  issues: ConfigIssue[],
): Promise<Buffer> {
  try {
    return await readFile(resolve(base, file));
  } catch (error) {
    issues.push(
      issueAt(source, path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`),
    );
    return Buffer.alloc(0);
  }
}

/** A value from the environment variable a config key names; an issue when it is unset. */
function readEnv(
  source: YamlSource,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  name: string,
  issues: ConfigIssue[],
): string | undefined {
  const value = env[name];
  if (value === undefined || value === '') {
    issues.push(issueAt(source, path, `names ${name}, which is not set`, `export ${name}=...`));
    return undefined;
  }
  return value;
}

/** Why the assertion key file cannot be used, or undefined. */
async function checkAssertionKeyFile(path: string): Promise<string | undefined> {
  try {
    const parsed = parseAssertionKeyFile(await readFile(path, 'utf8'));
    return typeof parsed === 'string' ? parsed : undefined;
  } catch (error) {
    return `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
}

/** Why a JWKS file cannot be used, or undefined: it must be JSON with a `keys` list. */
async function checkJwksFile(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  try {
    const parsed = JSON.parse(text) as { keys?: unknown };
    return Array.isArray(parsed.keys)
      ? undefined
      : 'must be a JWKS: a JSON object with a "keys" list';
  } catch {
    return 'must be a JWKS: a JSON object with a "keys" list (the file is not JSON)';
  }
}

/**
 * Turns a validated gateway.yaml into running settings: reads secrets from the environment or
 * files (never from the file itself or the command line), reads TLS files, resolves paths
 * relative to the config file. Every problem is reported, positioned at the key that named it.
 */
export async function resolveGatewaySettings(
  file: GatewayFile,
  source: YamlSource,
  env: NodeJS.ProcessEnv,
): Promise<{ ok: true; settings: GatewaySettings } | { ok: false; issues: ConfigIssue[] }> {
  const base = dirname(resolve(source.file));
  const issues: ConfigIssue[] = [];
  const clientSecret = await readSecret(
    source,
    base,
    env,
    {
      section: 'idp',
      envKey: 'client_secret_env',
      fileKey: 'client_secret_file',
      env: file.idp.client_secret_env,
      file: file.idp.client_secret_file,
    },
    issues,
  );
  const sessionSecret = await readSecret(
    source,
    base,
    env,
    {
      section: 'session',
      envKey: 'secret_env',
      fileKey: 'secret_file',
      env: file.session.secret_env,
      file: file.session.secret_file,
    },
    issues,
  );
  const adminToken =
    file.admin_token_env === undefined
      ? undefined
      : readEnv(source, env, ['admin_token_env'], file.admin_token_env, issues);
  if (adminToken !== undefined && adminToken.length < 16) {
    issues.push(
      issueAt(
        source,
        ['admin_token_env'],
        `gives a token of ${adminToken.length} characters; at least 16 are required`,
        'openssl rand -hex 24',
      ),
    );
  }
  const redisUrl =
    file.session.store === 'redis'
      ? readEnv(source, env, ['session', 'redis_url_env'], file.session.redis_url_env!, issues)
      : undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    issues.push(
      issueAt(
        source,
        ['session', 'redis_url_env'],
        `names ${file.session.redis_url_env}, which must hold a redis:// or rediss:// URL`,
      ),
    );
  }
  if (sessionSecret !== '' && Buffer.byteLength(sessionSecret) < MIN_SESSION_SECRET_BYTES) {
    const key = file.session.secret_env !== undefined ? 'secret_env' : 'secret_file';
    issues.push(
      issueAt(
        source,
        ['session', key],
        `gives a secret of ${Buffer.byteLength(sessionSecret)} bytes; at least ${MIN_SESSION_SECRET_BYTES} are required`,
        'openssl rand -base64 48',
      ),
    );
  }
  const tls = file.tls && {
    cert: await readPem(source, base, ['tls', 'cert_file'], file.tls.cert_file, issues),
    key: await readPem(source, base, ['tls', 'key_file'], file.tls.key_file, issues),
  };
  const jwksFiles: Array<[PropertyKey[], string | undefined]> = [
    ...file.posture.issuers.map((issuer, i): [PropertyKey[], string | undefined] => [
      ['posture', 'issuers', i, 'jwks_file'],
      issuer.jwks_file,
    ]),
    ...file.service_tokens.map((issuer, i): [PropertyKey[], string | undefined] => [
      ['service_tokens', i, 'jwks_file'],
      issuer.jwks_file,
    ]),
    ...file.shared_signals.map((transmitter, i): [PropertyKey[], string | undefined] => [
      ['shared_signals', i, 'jwks_file'],
      transmitter.jwks_file,
    ]),
  ];
  if (file.assertion.key_file !== undefined) {
    const problem = await checkAssertionKeyFile(resolve(base, file.assertion.key_file));
    if (problem !== undefined) issues.push(issueAt(source, ['assertion', 'key_file'], problem));
  }
  for (const [path, jwksFile] of jwksFiles) {
    if (jwksFile === undefined) continue;
    const problem = await checkJwksFile(resolve(base, jwksFile));
    if (problem !== undefined) issues.push(issueAt(source, path, problem));
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    settings: {
      listen: parseListenAddress(file.listen),
      adminListen: parseListenAddress(file.admin_listen),
      tls,
      routesFile: resolve(base, file.routes_file),
      isTrustedProxy: createCidrMatcher(file.trusted_proxies),
      idp: {
        issuer: new URL(file.idp.issuer),
        clientId: file.idp.client_id,
        clientSecret,
        clientAuth: file.idp.client_auth,
        scopes: file.idp.scopes,
        groupsClaim: file.idp.groups_claim,
        mfaAcrValues: file.idp.mfa_acr_values,
      },
      adminToken,
      session: {
        store: redisUrl === undefined ? { kind: 'memory' } : { kind: 'redis', url: redisUrl },
        secret: sessionSecret,
        cookieName: file.session.cookie_name,
        cookieDomain: file.session.cookie_domain,
        maxAgeMs: file.session.max_age,
        idleTimeoutMs: file.session.idle_timeout,
      },
      posture: {
        issuers: file.posture.issuers.map((issuer) => ({
          issuer: issuer.issuer,
          audiences: [issuer.audience],
          algorithms: issuer.algorithms ?? JWT_ALGORITHMS,
          jwksUri: issuer.jwks_uri === undefined ? undefined : new URL(issuer.jwks_uri),
          jwksFile: issuer.jwks_file === undefined ? undefined : resolve(base, issuer.jwks_file),
        })),
        isTrustedProxy: createCidrMatcher(file.posture.trusted_proxies),
        clockSkewMs: file.posture.clock_skew,
      },
      serviceTokens: file.service_tokens.map((issuer) => ({
        name: issuer.name,
        issuer: issuer.issuer,
        audiences: issuer.audiences,
        algorithms: issuer.algorithms ?? JWT_ALGORITHMS,
        jwksUri: issuer.jwks_uri === undefined ? undefined : new URL(issuer.jwks_uri),
        jwksFile: issuer.jwks_file === undefined ? undefined : resolve(base, issuer.jwks_file),
      })),
      sharedSignals: file.shared_signals.map((transmitter) => ({
        name: transmitter.name,
        issuer: transmitter.issuer,
        audiences: [transmitter.audience],
        algorithms: transmitter.algorithms ?? JWT_ALGORITHMS,
        jwksUri: transmitter.jwks_uri === undefined ? undefined : new URL(transmitter.jwks_uri),
        jwksFile:
          transmitter.jwks_file === undefined ? undefined : resolve(base, transmitter.jwks_file),
      })),
      assertion: {
        header: headerKey(file.assertion.header),
        keyFile:
          file.assertion.key_file === undefined
            ? undefined
            : resolve(base, file.assertion.key_file),
        ttlMs: file.assertion.ttl,
        issuer: file.assertion.issuer?.replace(/\/$/, ''),
      },
      limits: {
        maxHeaderBytes: file.limits.max_header_bytes,
        headerTimeoutMs: file.limits.header_timeout,
        requestTimeoutMs: file.limits.request_timeout,
        keepAliveTimeoutMs: file.limits.keep_alive_timeout,
        failedSignInsPerMinute: file.limits.failed_signins_per_minute,
      },
      logLevel: file.log.level,
    },
  };
}
