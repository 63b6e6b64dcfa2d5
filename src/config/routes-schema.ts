import { z } from 'zod';
import { parseVersion } from '../posture/os-version.js';
import { DAY_NAMES, parseClock } from '../policy/conditions/time.js';
import { OS_NAMES } from '../posture/facts.js';
import { MAX_GRANT_DURATION_MS } from '../jit/offer.js';
import { canonicalizeHost, canonicalizeTarget } from '../routing/canonicalize.js';
import { cidr, duration, strictObject, stringList } from './schema-helpers.js';

/** `wiki.corp.example` or `*.corp.example`: lower-cased, no port, wildcard only as a whole first label. */
const hostPattern = z
  .string({ error: 'must be a host name like wiki.corp.example or "*.corp.example"' })
  .transform((h) => h.toLowerCase().replace(/\.$/, ''))
  .refine((h) => {
    const name = h.startsWith('*.') ? h.slice(2) : h;
    return canonicalizeHost(name)?.authority === name && !name.includes('*');
  }, 'must be a host name without port or scheme, like wiki.corp.example or "*.corp.example"');

/** A canonical path prefix: what SPEC §7 canonicalization would produce, without `;params`. */
const routePath = z
  .string({ error: 'must be a path like /admin' })
  .transform((p) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p))
  .refine((p) => {
    const result = canonicalizeTarget(p);
    return result.ok && result.target.path === p && result.target.query === '' && !p.includes(';');
  }, 'must be a canonical path like /admin (no "..", "//", "%2F", ";" or "?")');

const upstreamUrl = z.string({ error: 'must be an http:// or https:// URL' }).refine((u) => {
  const url = URL.parse(u);
  return (
    url !== null &&
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === ''
  );
}, 'must be an http:// or https:// URL without credentials, query or fragment');

const methodList = z
  .array(
    z
      .string({ error: 'must be a list of HTTP methods' })
      .regex(/^[A-Za-z]{1,20}$/, 'must be an HTTP method like GET or POST')
      .transform((m) => m.toUpperCase()),
    { error: 'must be a list of HTTP methods' },
  )
  .min(1, 'must not be empty');

const osName = z.enum(OS_NAMES);

/** YAML reads 14.10 as the number 14.1: versions must be strings, and readable ones. */
const osVersion = z
  .string({
    error: 'must be a quoted version like "14.4" (unquoted, YAML would read 14.10 as 14.1)',
  })
  .refine(
    (v) => parseVersion(v) !== undefined,
    'must be a dotted version like "14.4" or "10.0.19045"',
  );

const trueOnly = (what: string) => z.literal(true, { error: `must be true (${what})` });

/** A posture profile (SPEC §4.2/§6): every present key is a requirement on the device. */
export const postureProfileSchema = strictObject({
  managed: trueOnly('the device must be managed').optional(),
  disk_encrypted: trueOnly('the disk must be encrypted').optional(),
  edr_running: trueOnly('EDR must be running').optional(),
  firewall: trueOnly('the firewall must be on').optional(),
  os: z
    .array(osName, { error: 'must be a list of OS names' })
    .min(1, 'must not be empty')
    .optional(),
  min_os_version: z
    .partialRecord(osName, osVersion, {
      error: 'must map OS names to versions, like { macos: "14.4" }',
    })
    .optional(),
  max_age: duration().optional(),
}).meta({ id: 'postureProfile', description: 'Device requirements: every present key must hold.' });

const claimScalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'must be a string, number, true/false, or a list of those',
});

const timeSchema = strictObject({
  days: z
    .array(z.enum(DAY_NAMES), { error: 'must be a list of days (mon, tue, ... sun)' })
    .min(1, 'must not be empty')
    .optional(),
  between: z
    .string({ error: 'must be a time range like "08:00-18:00"' })
    .regex(
      /^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$/,
      'must be a time range like "08:00-18:00" (24-hour clock)',
    )
    .refine((range) => {
      const [start, end] = range.split('-').map(parseClock);
      return start !== end;
    }, 'must not start and end at the same minute')
    .optional(),
  tz: z.string({ error: 'must be an IANA time zone like Europe/Berlin' }).refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone like Europe/Berlin or UTC'),
}).meta({ id: 'time' });

/** A just-in-time grant's name: it appears in URLs, audit lines and the CLI. */
const grantName = z
  .string({ error: 'must be a grant name like wiki-admin' })
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, "-" or "_"');

/** `jit:` on a route or sub-rule: denied people may ask for time-boxed access (SPEC §13). */
const jitSchema = strictObject({
  grant: grantName.describe('The grant an approval gives: what `grant: NAME` conditions test.'),
  max_duration: duration({
    min: 60_000,
    max: MAX_GRANT_DURATION_MS,
    maxText: '24h',
    maxWhy: 'a longer grant is standing access: give that through a group at the IdP',
  }).describe('The longest access an approver can give (at most 24h: longer is standing access).'),
  approvers: strictObject({
    groups: stringList('group names')
      .min(1, 'must not be empty (an empty list lets no one approve)')
      .optional(),
    emails: stringList('email addresses')
      .min(1, 'must not be empty (an empty list lets no one approve)')
      .optional(),
  })
    .refine((a) => a.groups !== undefined || a.emails !== undefined, {
      message: 'must name groups or emails (with neither, no one could ever approve)',
    })
    .describe('Who may approve; an approver also needs MFA and never approves their own request.'),
  require_reason: z.boolean({ error: 'must be true or false' }).default(false),
}).meta({ id: 'jit', description: 'Just-in-time access: ask, approve, expire.' });

/** A rule: every listed condition must hold. Empty rules are refused: they would match everyone. */
const ruleSchema = strictObject({
  authenticated: trueOnly('any signed-in user')
    .optional()
    .describe('Any signed-in user. (An empty rule is refused: it would match everyone.)'),
  emails: stringList('email addresses')
    .optional()
    .describe(
      "The user's email is one of these (case-insensitive; unverified emails never match).",
    ),
  email_domains: stringList('email domains')
    .optional()
    .describe("The part after the only @ of the user's email is one of these domains."),
  groups: stringList('group names')
    .optional()
    .describe(
      'The user is in at least one of these groups (a missing groups claim matches nothing).',
    ),
  subjects: stringList('subjects')
    .optional()
    .describe("The identity's sub is one of these (service accounts, SPIFFE ids)."),
  issuers: stringList('service_tokens names')
    .optional()
    .describe(
      'A workload token from one of these service_tokens entries (by name); people never match.',
    ),
  claims: z
    .record(
      z.string().min(1),
      z.union([claimScalar, z.array(claimScalar).min(1, 'must not be empty')]),
      {
        error: 'must map claim names to values, like { department: sales }',
      },
    )
    .refine((c) => Object.keys(c).length > 0, 'must name at least one claim')
    .optional(),
  grant: grantName
    .optional()
    .describe('The person holds an active just-in-time grant of this name (SPEC §13).'),
  mfa: trueOnly('a second factor is required')
    .optional()
    .describe(
      'Signed in with a second factor (amr, or an acr listed in idp.mfa_acr_values); otherwise step-up.',
    ),
  auth_max_age: duration()
    .optional()
    .describe('Signed in at the IdP at most this long ago (auth_time); otherwise step-up.'),
  posture: z
    .union([z.string().min(1), postureProfileSchema], {
      error: 'must be a posture profile name or an inline profile',
    })
    .optional(),
  ip: z
    .array(cidr(), { error: 'must be a list of CIDR blocks' })
    .min(1, 'must not be empty')
    .optional(),
  methods: methodList.optional(),
  paths: z
    .array(routePath, { error: 'must be a list of paths' })
    .min(1, 'must not be empty')
    .optional(),
  time: timeSchema.optional().describe('Local days and hours in an IANA time zone.'),
})
  .refine((rule) => Object.values(rule).some((v) => v !== undefined), {
    message:
      'must have at least one condition (an empty rule would match everyone; write authenticated: true to allow every signed-in user)',
  })
  .meta({ id: 'rule', description: 'A rule holds when all of its conditions hold.' });

const policySchema = strictObject({
  allow: z.array(ruleSchema, { error: 'must be a list of rules' }).optional(),
  deny: z.array(ruleSchema, { error: 'must be a list of rules' }).optional(),
}).meta({ id: 'policy' });

const mode = z.enum(['enforce', 'audit']);
const authList = z
  .array(z.enum(['session', 'bearer']), {
    error: 'must be a list: [session], [bearer] or [session, bearer]',
  })
  .min(1, 'must not be empty');

const subRuleSchema = strictObject({
  path: routePath.optional(),
  methods: methodList.optional(),
  policy: policySchema,
  jit: jitSchema.optional(),
})
  .refine((r) => r.path !== undefined || r.methods !== undefined, {
    message: 'must say which requests it covers: path, methods, or both',
  })
  .meta({ id: 'subRule' });

const routeSchema = strictObject({
  name: z
    .string({ error: 'must be a string' })
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,62}$/,
      'must be lower-case letters, digits, "-" or "_" (it becomes a metric label)',
    ),
  host: hostPattern,
  path: routePath.prefault('/'),
  upstream: upstreamUrl,
  strip_prefix: z.boolean({ error: 'must be true or false' }).default(false),
  preserve_host: z.boolean({ error: 'must be true or false' }).default(false),
  websockets: z.boolean({ error: 'must be true or false' }).default(true),
  allowed_origins: z
    .array(
      z
        .string()
        .regex(
          /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/,
          'must be an origin like https://portal.corp.example (scheme, host, optional port; no path)',
        ),
      { error: 'must be a list of origins' },
    )
    .optional()
    .describe(
      'Other origins whose pages may open WebSockets to this route (SPEC §2); its own origin always may.',
    ),
  allow_double_encoding: z
    .boolean({ error: 'must be true or false' })
    .default(false)
    .describe(
      'Forward paths with double-encoded ".", "/" or "\\" (%252e, %252F, %255c) instead of refusing them (400). Only for apps that need such literal sequences and never decode a path twice.',
    ),
  timeout: duration().prefault('30s'),
  upstream_tls: strictObject({
    ca_file: z.string().min(1).optional(),
    server_name: z.string().min(1).optional(),
  }).optional(),
  public: z
    .boolean({ error: 'must be true or false' })
    .default(false)
    .describe('No authentication; still logged and counted.'),
  mode: mode.optional().describe('audit: would-be denials are logged and counted, not enforced.'),
  auth: authList
    .optional()
    .describe(
      'Which credentials the route accepts: session (browser login) and/or bearer (service tokens).',
    ),
  identity_headers: strictObject({
    user: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name like X-WEBAUTH-USER')
      .optional(),
    email: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name like X-WEBAUTH-EMAIL')
      .optional(),
    groups: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name like X-WEBAUTH-GROUPS')
      .optional(),
  })
    .optional()
    .describe(
      'Header names the upstream reads the identity from (default X-Forwarded-User/Email/Groups).',
    ),
  policy: policySchema
    .optional()
    .describe('Who may use the route: any allow rule may allow; any matching deny rule wins.'),
  jit: jitSchema
    .optional()
    .describe('People the policy denies may ask for time-boxed access under a grant (SPEC §13).'),
  rules: z
    .array(subRuleSchema, { error: 'must be a list of sub-rules' })
    .optional()
    .describe(
      'Narrower policies for sub-paths and/or methods; the most specific match replaces the route policy.',
    ),
});

/** routes.yaml (SPEC §4.2). */
export const routesFileSchema = strictObject({
  version: z.literal(1, { error: 'must be 1' }),
  defaults: strictObject({
    mode: mode.default('enforce'),
    auth: authList.default(['session']),
  }).prefault({}),
  posture_profiles: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, "-" or "_"'),
      postureProfileSchema,
      {
        error: 'must map profile names to profiles',
      },
    )
    .default({}),
  routes: z.array(routeSchema, { error: 'must be a list of routes' }),
});

export type RoutesFile = z.output<typeof routesFileSchema>;
export type RouteConfig = RoutesFile['routes'][number];

/** Example snippets shown as hints, by the key an issue is about. */
export const ROUTES_HINTS: Readonly<Record<string, string>> = {
  version: 'version: 1',
  routes: 'routes: [{ name: wiki, host: wiki.corp.example, upstream: "http://10.0.0.12:8080" }]',
  name: 'name: wiki',
  host: 'host: wiki.corp.example',
  path: 'path: /admin',
  upstream: 'upstream: http://10.0.0.12:8080',
  timeout: 'timeout: 30s',
  allow_double_encoding: 'allow_double_encoding: true',
  allow: 'allow: [{ groups: [engineering] }]',
  deny: 'deny: [{ groups: [contractors] }]',
  emails: 'emails: [alice@corp.example]',
  email_domains: 'email_domains: [corp.example]',
  groups: 'groups: [engineering]',
  subjects: 'subjects: ["system:serviceaccount:prod:checkout"]',
  issuers: 'issuers: [k8s-prod]',
  claims: 'claims: { department: [sales, support] }',
  mfa: 'mfa: true',
  auth_max_age: 'auth_max_age: 1h',
  ip: 'ip: [10.0.0.0/8]',
  methods: 'methods: [GET, HEAD]',
  paths: 'paths: [/reports]',
  time: 'time: { days: [mon, tue, wed, thu, fri], between: "08:00-18:00", tz: Europe/Berlin }',
  days: 'days: [mon, tue, wed, thu, fri]',
  between: 'between: "08:00-18:00"',
  tz: 'tz: Europe/Berlin',
  posture: 'posture: baseline',
  min_os_version: 'min_os_version: { macos: "14.4", windows: "10.0.19045" }',
  max_age: 'max_age: 15m',
  authenticated: 'authenticated: true',
  grant: 'grant: wiki-admin',
  jit: 'jit: { grant: wiki-admin, max_duration: 4h, approvers: { groups: [wiki-owners] } }',
  approvers: 'approvers: { groups: [wiki-owners] }',
  max_duration: 'max_duration: 4h',
  mode: 'mode: audit',
  policy: 'policy: { allow: [{ groups: [engineering] }] }',
  rules: 'rules: [{ path: /admin, methods: [POST], policy: { allow: [{ groups: [admins] }] } }]',
};
