import { z } from 'zod';
import { canonicalizeHost, canonicalizeTarget } from '../routing/canonicalize.js';
import { duration, strictObject, stringList } from './schema-helpers.js';

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

/** A rule: every listed condition must hold. Empty rules are refused: they would match everyone. */
const ruleSchema = strictObject({
  authenticated: z.literal(true, { error: 'must be true (any signed-in user)' }).optional(),
  emails: stringList('email addresses').optional(),
  email_domains: stringList('email domains').optional(),
  groups: stringList('group names').optional(),
}).refine((rule) => Object.values(rule).some((v) => v !== undefined), {
  message:
    'must have at least one condition (an empty rule would match everyone; write authenticated: true to allow every signed-in user)',
});

const policySchema = strictObject({
  allow: z.array(ruleSchema, { error: 'must be a list of rules' }).optional(),
  deny: z.array(ruleSchema, { error: 'must be a list of rules' }).optional(),
});

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
  timeout: duration().prefault('30s'),
  upstream_tls: strictObject({
    ca_file: z.string().min(1).optional(),
    server_name: z.string().min(1).optional(),
  }).optional(),
  public: z.boolean({ error: 'must be true or false' }).default(false),
  policy: policySchema.optional(),
}).superRefine((route, ctx) => {
  if (route.public && route.policy !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['policy'],
      message:
        'must not be set on a public route (public routes skip authentication, so there is no one to decide on)',
    });
  }
  if (route.strip_prefix && route.path === '/') {
    ctx.addIssue({
      code: 'custom',
      path: ['strip_prefix'],
      message: 'must not be set when path is / (there is no prefix to strip)',
    });
  }
});

/** routes.yaml (SPEC §4.2). */
export const routesFileSchema = strictObject({
  version: z.literal(1, { error: 'must be 1' }),
  routes: z.array(routeSchema, { error: 'must be a list of routes' }),
}).superRefine((file, ctx) => {
  const names = new Map<string, number>();
  const places = new Map<string, number>();
  file.routes.forEach((route, i) => {
    const earlier = names.get(route.name);
    if (earlier !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['routes', i, 'name'],
        message: `must be unique: route #${earlier + 1} is also called "${route.name}"`,
      });
    }
    names.set(route.name, i);
    const place = `${route.host} ${route.path}`;
    const same = places.get(place);
    if (same !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['routes', i, 'path'],
        message: `must be unique per host: route #${same + 1} ("${file.routes[same]!.name}") already serves ${route.host}${route.path}`,
      });
    }
    places.set(place, i);
  });
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
  allow: 'allow: [{ groups: [engineering] }]',
  deny: 'deny: [{ groups: [contractors] }]',
  emails: 'emails: [alice@corp.example]',
  email_domains: 'email_domains: [corp.example]',
  groups: 'groups: [engineering]',
  authenticated: 'authenticated: true',
  policy: 'policy: { allow: [{ groups: [engineering] }] }',
};
