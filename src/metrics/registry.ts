import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DirectCounter, DirectHistogram } from './direct-metrics.js';

/** Decisions as counted in `ztna_requests_total` (SPEC §10). */
export type RequestDecision = 'allow' | 'deny' | 'audit_deny' | 'login' | 'public' | 'error';
export type UpstreamErrorKind = 'connect' | 'timeout' | 'reset' | 'tls';
export type AuthEvent =
  | 'login_start'
  | 'login_ok'
  | 'login_fail'
  | 'logout'
  | 'refresh_ok'
  | 'refresh_fail'
  | 'step_up'
  | 'revoked';
export type PostureResult = 'pass' | 'fail' | 'missing' | 'invalid' | 'untrusted_source';
export type CredentialKind = 'session' | 'bearer' | 'posture';
/** Steps of just-in-time access (SPEC §13): the `event` label of `ztna_jit_events_total`. */
export type JitEvent = 'requested' | 'approved' | 'rejected' | 'used' | 'expired' | 'revoked';

// A proxy's latency lives between a fraction of a millisecond and tens of seconds.
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
// Credential ages: from seconds (fresh tokens) to a week (long sessions, stale posture).
const AGE_BUCKETS = [1, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400];

/**
 * Every metric of SPEC §10, declared once, on a registry of its own (one per gateway instance,
 * so tests can run several gateways in one process). Label values are bounded by construction:
 * route names come from config, reasons and kinds from closed unions. Those counted on every
 * request are Direct ones (direct-metrics.ts: no label hashing per request).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let countSessions: () => number | Promise<number> = () => 0;
  let countGrants: () => number | Promise<number> = () => 0;
  return {
    registry,
    /** Tells the `ztna_sessions_active` gauge how to count sessions (read at scrape time). */
    countSessionsWith(counter: () => number | Promise<number>): void {
      countSessions = counter;
    },
    /** Tells the `ztna_jit_grants_active` gauge how to count running grants. */
    countGrantsWith(counter: () => number | Promise<number>): void {
      countGrants = counter;
    },
    requests: new DirectCounter({
      name: 'ztna_requests_total',
      help: 'Requests handled, by route, decision and HTTP status code.',
      labelNames: ['route', 'decision', 'code'] as const,
      registers: [registry],
    }),
    requestDuration: new DirectHistogram({
      name: 'ztna_request_duration_seconds',
      help: 'Time from request arrival to the end of the response, by route.',
      labelNames: ['route'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    upstreamDuration: new DirectHistogram({
      name: 'ztna_upstream_duration_seconds',
      help: 'Time from forwarding a request to receiving the upstream response headers, by route.',
      labelNames: ['route'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'ztna_upstream_errors_total',
      help: 'Upstream failures, by route and kind (connect, timeout, reset, tls).',
      labelNames: ['route', 'kind'] as const,
      registers: [registry],
    }),
    policyDenials: new DirectCounter({
      name: 'ztna_policy_denials_total',
      help: 'Policy denials (enforced or audit-only), by route and reason code.',
      labelNames: ['route', 'reason'] as const,
      registers: [registry],
    }),
    authEvents: new Counter({
      name: 'ztna_auth_events_total',
      help: 'Authentication events: logins, logouts, refreshes, step-ups, revocations.',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    postureChecks: new DirectCounter({
      name: 'ztna_posture_checks_total',
      help: 'Device posture evaluations, by result.',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    credentialAge: new DirectHistogram({
      name: 'ztna_credential_age_seconds',
      help: 'Age of the credential presented at use, by kind (session, bearer, posture).',
      labelNames: ['kind'] as const,
      buckets: AGE_BUCKETS,
      registers: [registry],
    }),
    sessionsActive: new Gauge({
      name: 'ztna_sessions_active',
      help: 'Sessions currently held by the session store.',
      registers: [registry],
      async collect() {
        this.set(await countSessions());
      },
    }),
    // What the failed-sign-in limit refused (SPEC §10), so a flood shows on a dashboard.
    rateLimited: new Counter({
      name: 'ztna_rate_limited_total',
      help: 'Sign-in requests refused by the failed-sign-in limit (429), by endpoint (login, callback).',
      labelNames: ['endpoint'] as const,
      registers: [registry],
    }),
    sharedSignals: new Counter({
      name: 'ztna_shared_signals_total',
      help: 'Security events received at /.ztna/ssf, by event and result (applied, rejected).',
      labelNames: ['event', 'result'] as const,
      registers: [registry],
    }),
    revocationLag: new Histogram({
      name: 'ztna_revocation_lag_seconds',
      help: 'Time from a revocation on any instance to its enforcement on this one, by source.',
      labelNames: ['source'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60],
      registers: [registry],
    }),
    jitGrantsActive: new Gauge({
      name: 'ztna_jit_grants_active',
      help: 'Just-in-time grants running now (approved or issued, not expired or revoked).',
      registers: [registry],
      async collect() {
        this.set(await countGrants());
      },
    }),
    jitEvents: new Counter({
      name: 'ztna_jit_events_total',
      help: 'Just-in-time access steps, by event (requested, approved, rejected, used, expired, revoked).',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    configReloads: new Counter({
      name: 'ztna_config_reloads_total',
      help: 'routes.yaml reloads, by result (success, failure).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    configInfo: new Gauge({
      name: 'ztna_config_info',
      help: 'The routes.yaml version in effect (always 1): file hash and number of routes.',
      labelNames: ['hash', 'routes'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
