import { z } from 'zod';
import {
  cidr,
  duration,
  envName,
  listenAddress,
  strictObject,
  stringList,
} from './schema-helpers.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** SPEC §4.1: an http:// issuer only on loopback (demo, tests); anything else must be https. */
const issuerUrl = z.string({ error: 'must be the IdP issuer URL' }).refine((value) => {
  const url = URL.parse(value);
  if (url === null || url.search !== '' || url.hash !== '') return false;
  return (
    url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))
  );
}, 'must be an https:// URL (http:// is accepted only for a loopback IdP)');

const idpSchema = strictObject({
  issuer: issuerUrl,
  client_id: z.string({ error: 'must be a string' }).min(1),
  client_secret_env: envName().optional(),
  client_secret_file: z.string().min(1).optional(),
  scopes: stringList('scopes')
    .refine((s) => s.includes('openid'), 'must include openid')
    .default(['openid', 'email', 'profile', 'groups', 'offline_access']),
  groups_claim: z.string().min(1).default('groups'),
  // The IdP's `acr` values that mean "signed in with a second factor" (for `mfa: true`).
  mfa_acr_values: stringList('acr values').default([]),
  client_auth: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  ca_file: z.string().min(1).optional(),
}).superRefine((idp, ctx) => {
  if ((idp.client_secret_env === undefined) === (idp.client_secret_file === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['client_secret_env'],
      message:
        'must be set, or client_secret_file instead (exactly one; secrets never live in this file)',
    });
  }
});

/**
 * Words every Set-Cookie line may carry. The gateway drops an upstream Set-Cookie whose line
 * mentions one of its cookie names anywhere (src/proxy/strip-headers.ts), so a cookie named
 * like one of these would drop every app cookie.
 */
const SET_COOKIE_WORDS = new Set(
  ['path', 'domain', 'expires', 'max-age', 'secure', 'httponly', 'samesite', 'lax', 'strict']
    .concat(['none', 'partitioned', 'priority', 'low', 'medium', 'high', 'version', 'comment'])
    .concat(['gmt', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun', 'jan', 'feb', 'mar'])
    .concat(['apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']),
);

const sessionSchema = strictObject({
  secret_env: envName().optional(),
  secret_file: z.string().min(1).optional(),
  store: z.enum(['memory', 'redis']).default('memory'),
  redis_url_env: envName().optional(),
  cookie_name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, "-" or "_"')
    .refine(
      (name) => !SET_COOKIE_WORDS.has(name.toLowerCase()),
      'must not be a Set-Cookie attribute word (Path, Secure, Lax, ...): an upstream Set-Cookie that mentions a gateway cookie name is dropped',
    )
    .default('ztna_session'),
  cookie_domain: z
    .string()
    .regex(/^\.?[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'must be a domain like .corp.example')
    .optional(),
  max_age: duration().prefault('12h'),
  idle_timeout: duration().prefault('1h'),
}).superRefine((session, ctx) => {
  if ((session.secret_env === undefined) === (session.secret_file === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['secret_env'],
      message: 'must be set, or secret_file instead (exactly one; >= 32 bytes)',
    });
  }
  if (session.store === 'redis' && session.redis_url_env === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['redis_url_env'],
      message: 'must name the environment variable holding the Redis URL when store is redis',
    });
  }
  if (session.idle_timeout > session.max_age) {
    ctx.addIssue({
      code: 'custom',
      path: ['idle_timeout'],
      message: 'must not be longer than max_age',
    });
  }
});

/** `https://...`, or `http://` on loopback only (tests, a local MDM bridge). */
const keySetUrl = z.string({ error: 'must be the https:// URL of a JWKS' }).refine((value) => {
  const url = URL.parse(value);
  return (
    url !== null &&
    (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))
  );
}, 'must be an https:// URL (http:// is accepted only on loopback)');

/** Signature algorithms accepted for JWTs from others (SPEC §6): asymmetric only, never `none` or HS*. */
export const JWT_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const;

/** Where a JWT issuer's public keys are: a JWKS URL or file (exactly one), and its algorithms. */
const keySource = {
  jwks_uri: keySetUrl.optional(),
  jwks_file: z.string().min(1).optional(),
  algorithms: z
    .array(z.enum(JWT_ALGORITHMS), { error: 'must be a list of algorithms' })
    .min(1)
    .optional(),
};

function exactlyOneKeySource(
  issuer: { jwks_uri?: string | undefined; jwks_file?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if ((issuer.jwks_uri === undefined) === (issuer.jwks_file === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['jwks_uri'],
      message: 'must be set, or jwks_file instead (exactly one)',
    });
  }
}

const postureIssuerSchema = strictObject({
  issuer: z.string({ error: 'must be the iss value of the assertions' }).min(1),
  audience: z
    .string({ error: 'must be the aud value the assertions carry for this gateway' })
    .min(1),
  ...keySource,
}).superRefine(exactlyOneKeySource);

/** A Shared Signals transmitter (SPEC §14): who may push SETs to /.ztna/ssf. */
const sharedSignalsSchema = strictObject({
  name: z
    .string({ error: 'must be a name like okta' })
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a name like okta (a-z, 0-9, _ and -)'),
  issuer: z.string({ error: 'must be the iss value of the transmitter’s events' }).min(1),
  audience: z.string({ error: 'must be the aud value the transmitter sends this gateway' }).min(1),
  ...keySource,
}).superRefine(exactlyOneKeySource);

/** A `service_tokens` name, as `issuers` conditions in routes.yaml write it. */
export const SERVICE_TOKEN_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const serviceTokenIssuerSchema = strictObject({
  name: z
    .string({ error: 'must be a name like k8s-prod' })
    .regex(SERVICE_TOKEN_NAME, 'must be a name like k8s-prod (a-z, 0-9, _ and -)')
    .optional()
    .describe('Names the issuer for `issuers` conditions; required when there are several.'),
  issuer: z.string({ error: 'must be the iss value of the tokens' }).min(1),
  audiences: z
    .array(z.string().min(1), { error: 'must be a list of audiences' })
    .min(1, 'must not be empty'),
  ...keySource,
}).superRefine(exactlyOneKeySource);

/**
 * SPEC §4.1, §4.2: a bearer identity belongs to its issuer, and routes.yaml names issuers. With
 * several entries each needs a name, and names and `iss` values are unique (two entries with
 * one `iss` would make a token's issuer ambiguous).
 */
function checkServiceTokenNames(
  entries: ReadonlyArray<{ name?: string | undefined; issuer: string }>,
  ctx: z.RefinementCtx,
): void {
  const names = new Map<string, number>();
  const issuers = new Map<string, number>();
  entries.forEach((entry, i) => {
    if (entry.name === undefined) {
      if (entries.length > 1)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message:
            'must be set when there are several service_tokens entries (routes.yaml names them in issuers conditions)',
        });
    } else if (names.has(entry.name)) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: `must be unique: entry #${names.get(entry.name)! + 1} is also called "${entry.name}"`,
      });
    } else {
      names.set(entry.name, i);
    }
    if (issuers.has(entry.issuer)) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'issuer'],
        message: `must be unique: entry #${issuers.get(entry.issuer)! + 1} has the same issuer, so a token's entry would be ambiguous`,
      });
    } else {
      issuers.set(entry.issuer, i);
    }
  });
}

/** Header names a client could send; compared case-insensitively. */
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name like X-ZTNA-Assertion');

const assertionSchema = strictObject({
  header: headerName.default('X-ZTNA-Assertion'),
  key_file: z.string().min(1).optional(),
  ttl: duration({ max: 3_600_000 }).prefault('60s'),
  issuer: z
    .string()
    .refine(
      (v) => URL.parse(v)?.protocol === 'https:' || URL.parse(v)?.protocol === 'http:',
      'must be a URL like https://gateway.corp.example',
    )
    .optional(),
});

const postureSchema = strictObject({
  issuers: z.array(postureIssuerSchema, { error: 'must be a list of posture issuers' }).default([]),
  trusted_proxies: z.array(cidr(), { error: 'must be a list of CIDR blocks' }).default([]),
  clock_skew: duration({ max: 300_000 }).prefault('60s'),
});

/**
 * Limits of the proxy listener and of the sign-in endpoints. The defaults suit people behind
 * browsers; tests shorten the timeouts, large uploads may need a longer request_timeout.
 */
const limitsSchema = strictObject({
  // Node's default (16 KiB) fits big cookies and tokens; more invites memory abuse.
  max_header_bytes: z
    .number({ error: 'must be a number of bytes like 16384' })
    .int('must be a whole number of bytes')
    .min(4096, 'must be at least 4096')
    .max(65536, 'must be at most 65536')
    .default(16384),
  // The whole request head must arrive within this (slowloris).
  header_timeout: duration({ min: 100, max: 300_000 }).prefault('20s'),
  // The whole request, body included.
  request_timeout: duration({ min: 100 }).prefault('5m'),
  // Idle keep-alive connections are closed after this.
  keep_alive_timeout: duration({ min: 100, max: 600_000 }).prefault('5s'),
  // Failed sign-ins (bad, expired or replayed login state, IdP errors, logout CSRF failures)
  // per client IP (IPv6: per /64), as a burst and per minute. Successful sign-ins never count:
  // an office behind one NAT address signs in together at 9:00.
  failed_signins_per_minute: z
    .number({ error: 'must be a number of failed sign-ins like 30' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(100_000, 'must be at most 100000')
    .default(30),
  // Replaced by failed_signins_per_minute, and refused rather than carried over: it counted every
  // sign-in request, so its number means something else now (a value raised to stop throttling
  // an office would silently switch failure throttling off). The admin picks the new number.
  login_rate_per_minute: z
    .never({
      error:
        'must be replaced by failed_signins_per_minute (it counted every sign-in request; the new limit counts failed sign-ins only, default 30)',
    })
    .optional()
    .meta({ deprecated: true, description: 'Replaced by failed_signins_per_minute.' }),
}).superRefine((limits, ctx) => {
  if (limits.header_timeout > limits.request_timeout) {
    ctx.addIssue({
      code: 'custom',
      path: ['header_timeout'],
      message: 'must not be longer than request_timeout',
    });
  }
});

/** config/gateway.yaml (SPEC §4.1). */
export const gatewayFileSchema = strictObject({
  listen: listenAddress().default('0.0.0.0:8080'),
  tls: strictObject({
    cert_file: z.string({ error: 'must be a file path' }).min(1),
    key_file: z.string({ error: 'must be a file path' }).min(1),
  }).optional(),
  admin_listen: listenAddress().default('127.0.0.1:9091'),
  admin_token_env: envName().optional(),
  routes_file: z.string().min(1).default('../routes.yaml'),
  trusted_proxies: z.array(cidr(), { error: 'must be a list of CIDR blocks' }).default([]),
  idp: idpSchema,
  session: sessionSchema,
  posture: postureSchema.prefault({}),
  service_tokens: z
    .array(serviceTokenIssuerSchema, { error: 'must be a list of token issuers' })
    .superRefine(checkServiceTokenNames)
    .default([]),
  assertion: assertionSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  shared_signals: z
    .array(sharedSignalsSchema, { error: 'must be a list of transmitters' })
    .superRefine((entries, ctx) => {
      const seen = new Set<string>();
      entries.forEach((entry, i) => {
        if (seen.has(entry.issuer))
          ctx.addIssue({
            code: 'custom',
            path: [i, 'issuer'],
            message: 'is already another transmitter’s issuer: each issuer once',
          });
        seen.add(entry.issuer);
      });
    })
    .default([]),
  log: strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  }).prefault({}),
});

export type GatewayFile = z.output<typeof gatewayFileSchema>;

export const GATEWAY_HINTS: Readonly<Record<string, string>> = {
  listen: 'listen: "0.0.0.0:8080"',
  admin_listen: 'admin_listen: "127.0.0.1:9091"',
  trusted_proxies: 'trusted_proxies: [10.0.0.0/8]',
  issuer: 'issuer: https://idp.corp.example',
  client_id: 'client_id: ztna-gateway',
  client_secret_env: 'client_secret_env: ZTNA_CLIENT_SECRET',
  secret_env: 'secret_env: ZTNA_SESSION_SECRET',
  scopes: 'scopes: [openid, email, profile, groups]',
  max_age: 'max_age: 12h',
  idle_timeout: 'idle_timeout: 1h',
  idp: 'idp: { issuer: https://idp.corp.example, client_id: ztna-gateway, client_secret_env: ZTNA_CLIENT_SECRET }',
  session: 'session: { secret_env: ZTNA_SESSION_SECRET }',
  name: 'name: k8s-prod',
  login_rate_per_minute: 'did you mean "failed_signins_per_minute: 30"?',
};
