import { z } from 'zod';
import { parseCidr } from '../lib/cidr.js';
import { formatDuration, parseDuration } from '../lib/duration.js';

/**
 * Schema building blocks shared by gateway.yaml and routes.yaml. Every custom message starts
 * with "must" so that the issue translator (zod-issues.ts) can tell ours from zod's defaults.
 */

const knownKeys = new WeakMap<object, readonly string[]>();

/** Keys the schema allows at the object where an unknown key was found (for "did you mean"). */
export function knownKeysOf(input: unknown): readonly string[] {
  return typeof input === 'object' && input !== null ? (knownKeys.get(input) ?? []) : [];
}

/** An object schema that refuses unknown keys and remembers the allowed ones for hints. */
export function strictObject<S extends z.ZodRawShape>(shape: S) {
  const keys = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys' && typeof issue.input === 'object' && issue.input) {
        knownKeys.set(issue.input, keys);
      }
      return undefined;
    },
  });
}

/** A non-empty list of non-empty strings. */
export function stringList(what = 'strings') {
  return z.array(z.string({ error: `must be a list of ${what}` }).min(1, 'must not be empty'), {
    error: `must be a list of ${what}`,
  });
}

/**
 * Marks a refinement whose message already says what was given (`must be at most 24h, got 48h`):
 * the issue translator then adds no `got a string (…)` of its own.
 */
export const SAYS_INPUT = { saysInput: true } as const;

/**
 * A duration string (`90s`, `15m`, `12h`, `7d`), turned into milliseconds. A bound may carry its
 * own words (`24h` reads better than `1d` for a grant) and the reason for it.
 */
export function duration(
  limits: {
    min?: number;
    max?: number;
    /** How to write the maximum, when formatDuration's way reads badly (`24h`, not `1d`). */
    maxText?: string;
    /** Why the maximum exists, said in the message: `longer is standing access`. */
    maxWhy?: string;
  } = {},
) {
  const { min, max } = limits;
  const given = (input: unknown) => `got ${String(input)}`;
  const maxText = limits.maxText ?? formatDuration(max ?? 0);
  const maxWhy = limits.maxWhy === undefined ? '' : ` (${limits.maxWhy})`;
  return z
    .string({ error: 'must be a duration like 90s, 15m, 12h or 7d' })
    .refine((v) => parseDuration(v) !== undefined, 'must be a duration like 90s, 15m, 12h or 7d')
    .refine((v) => min === undefined || (parseDuration(v) ?? min) >= min, {
      error: (issue) => `must be at least ${formatDuration(min ?? 0)}, ${given(issue.input)}`,
      params: SAYS_INPUT,
    })
    .refine((v) => max === undefined || (parseDuration(v) ?? 0) <= max, {
      error: (issue) => `must be at most ${maxText}${maxWhy}, ${given(issue.input)}`,
      params: SAYS_INPUT,
    })
    .transform((v) => parseDuration(v)!);
}

/** A CIDR block or single address, IPv4 or IPv6. */
export function cidr() {
  const message = 'must be an IP address or CIDR block like 10.0.0.0/8 or 2001:db8::/32';
  return z.string({ error: message }).refine((v) => typeof parseCidr(v) !== 'string', message);
}

/** The name of an environment variable holding a secret (never the secret itself). */
export function envName() {
  return z
    .string({ error: 'must be the name of an environment variable' })
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      'must be the name of an environment variable, like ZTNA_SECRET',
    );
}

/** `host:port`, `[v6]:port` or `:port` for a listener. */
export function listenAddress() {
  return z
    .string({ error: 'must be an address like 0.0.0.0:8080' })
    .regex(
      /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/,
      'must be an address like 0.0.0.0:8080',
    );
}
