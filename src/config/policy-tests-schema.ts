import { z } from 'zod';
import { OS_NAMES } from '../posture/facts.js';
import type { IdentityDescription } from '../policy/described-identity.js';
import type { CollectedPosture } from '../posture/collect.js';
import { duration, strictObject } from './schema-helpers.js';

const isoTime = z
  .string({ error: 'must be an ISO time like "2026-11-23T10:00:00+01:00"' })
  .refine(
    (t) => !Number.isNaN(Date.parse(t)),
    'must be an ISO time like "2026-11-23T10:00:00+01:00"',
  )
  .transform((t) => Date.parse(t));

/** How a test case or `explain --posture FILE.json` describes a device. */
export const postureDescriptionSchema = strictObject({
  device_id: z.string().optional(),
  managed: z.boolean().optional(),
  os: z.enum(OS_NAMES).optional(),
  os_version: z.string({ error: 'must be a quoted version like "14.5"' }).optional(),
  disk_encrypted: z.boolean().optional(),
  edr_running: z.boolean().optional(),
  firewall: z.boolean().optional(),
  /** How old the evidence is. */
  age: duration().optional(),
  /** The user a signed assertion binds the device to (another user's: `deny:posture.user_mismatch`). */
  email: z.string().optional(),
});

export type PostureDescription = z.output<typeof postureDescriptionSchema>;

/** The evidence a gateway would have collected from a signed assertion, at time `at`. */
export function describedPosture(description: PostureDescription, at: number): CollectedPosture {
  return {
    source: 'assertion',
    email: description.email?.toLowerCase(),
    facts: describedFacts(description, at),
  };
}

function describedFacts(description: PostureDescription, at: number) {
  return {
    deviceId: description.device_id,
    managed: description.managed,
    os: description.os,
    osVersion: description.os_version,
    diskEncrypted: description.disk_encrypted,
    edrRunning: description.edr_running,
    firewall: description.firewall,
    observedAt: at - (description.age ?? 0),
  };
}

const identitySchema = strictObject({
  email: z.string().optional(),
  sub: z.string().optional(),
  groups: z.array(z.string(), { error: 'must be a list of group names' }).optional(),
  email_verified: z.boolean().optional(),
  mfa: z.boolean().optional(),
  amr: z.array(z.string()).optional(),
  acr: z.string().optional(),
  auth_age: duration().optional(),
  claims: z.record(z.string(), z.unknown()).optional(),
  /** A workload token from this service_tokens entry (by name), not a person. */
  issuer: z.string().min(1).optional(),
});

/** Converts a test case identity into the simulator's description. */
export function identityDescription(
  identity: z.output<typeof identitySchema>,
): IdentityDescription {
  return {
    email: identity.email,
    sub: identity.sub,
    groups: identity.groups,
    emailVerified: identity.email_verified,
    mfa: identity.mfa,
    amr: identity.amr,
    acr: identity.acr,
    authAgeMs: identity.auth_age,
    claims: identity.claims,
    issuer: identity.issuer,
  };
}

const caseSchema = strictObject({
  name: z.string({ error: 'must be a string' }).min(1),
  request: strictObject({
    method: z
      .string()
      .regex(/^[A-Za-z]+$/, 'must be an HTTP method')
      .transform((m) => m.toUpperCase())
      .default('GET'),
    url: z.string({ error: 'must be an absolute URL like https://wiki.corp.example/admin' }),
    ip: z.string().default('127.0.0.1'),
    at: isoTime.optional(),
  }),
  identity: identitySchema.optional(),
  posture: postureDescriptionSchema.optional(),
  /** The signed-in session beyond its person: the device it is bound to (SPEC §6). */
  session: strictObject({ device_id: z.string().min(1).optional() }).optional(),
  /** Just-in-time grants the person holds, running at the case's time (SPEC §13). */
  grants: z
    .array(z.string({ error: 'must be a grant name like wiki-admin' }).min(1), {
      error: 'must be a list of grant names like [wiki-admin]',
    })
    .optional(),
  expect: z.enum(['allow', 'deny', 'step_up']),
  reason: z.string().optional(),
});

/** routes.test.yaml (SPEC §3): policy test cases, written in the policy's own terms. */
export const policyTestsSchema = strictObject({
  cases: z
    .array(caseSchema, { error: 'must be a list of test cases' })
    .min(1, 'must have at least one case'),
});

export type PolicyTests = z.output<typeof policyTestsSchema>;

export const POLICY_TESTS_HINTS: Readonly<Record<string, string>> = {
  expect: 'expect: deny',
  url: 'url: https://wiki.corp.example/admin',
  at: 'at: "2026-11-23T10:00:00+01:00"',
  auth_age: 'auth_age: 10m',
  age: 'age: 1m',
  grants: 'grants: [wiki-admin]',
};
