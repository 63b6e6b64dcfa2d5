import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { DeviceComplianceMarks } from '../signals/device-compliance.js';
import type { Metrics } from '../metrics/registry.js';
import type { PostureFacts } from './facts.js';
import type { PostureAssertionVerifier } from './signed-assertion.js';
import { hasPostureHeaders, postureFromHeaders } from './trusted-headers.js';

/** Where this request's posture came from, or why there is none. */
export type PostureSource = 'assertion' | 'headers' | 'none' | 'invalid' | 'untrusted_source';

export interface CollectedPosture {
  readonly source: PostureSource;
  readonly facts: PostureFacts | undefined;
  /** From a signed assertion only: the user the device belongs to. */
  readonly email: string | undefined;
}

const NONE: CollectedPosture = { source: 'none', facts: undefined, email: undefined };
const INVALID: CollectedPosture = { source: 'invalid', facts: undefined, email: undefined };
const UNTRUSTED: CollectedPosture = {
  source: 'untrusted_source',
  facts: undefined,
  email: undefined,
};

export interface PostureCollectorDeps {
  readonly verifyAssertion: PostureAssertionVerifier;
  readonly isTrustedPostureProxy: (ip: string) => boolean;
  /** Devices a shared signal said are not compliant: their older evidence is refused. */
  readonly devices?: DeviceComplianceMarks;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/**
 * SPEC §2 step 4: the device evidence of a request, in order of trust. A signed assertion wins;
 * plain headers count only from a trusted posture proxy (from anyone else they are ignored and
 * counted as spoof attempts; they never reach the upstream either way). Refused evidence is
 * no evidence: a route that needs posture then denies with `deny:posture.missing`.
 */
export function createPostureCollector(deps: PostureCollectorDeps) {
  /**
   * Evidence from before its device's non-compliance signal is refused like a bad assertion;
   * undefined when the evidence stands.
   */
  function refusedIfOutdated(facts: PostureFacts, requestId: string): CollectedPosture | undefined {
    const { deviceId, observedAt } = facts;
    if (deviceId === undefined || deps.devices?.outdates(deviceId, observedAt) !== true)
      return undefined;
    deps.metrics.postureChecks.inc({ result: 'invalid' });
    deps.log.info(
      { request_id: requestId, device_id: deviceId },
      'posture evidence predates a non-compliance signal for this device; refused',
    );
    return INVALID;
  }

  const postureAge = deps.metrics.credentialAge.labels({ kind: 'posture' });

  return async function collectPosture(
    headers: IncomingHttpHeaders,
    peerIp: string,
    requestId: string,
    now: number,
  ): Promise<CollectedPosture> {
    const assertion = headers['x-device-posture'];
    if (assertion !== undefined) {
      const result =
        typeof assertion === 'string'
          ? await deps.verifyAssertion(assertion, now)
          : ({ ok: false, reason: 'malformed' } as const);
      if (result.ok) {
        postureAge.observe(Math.max(0, now - result.posture.facts.observedAt) / 1000);
        const { facts, email } = result.posture;
        return refusedIfOutdated(facts, requestId) ?? { source: 'assertion', facts, email };
      }
      deps.metrics.postureChecks.inc({ result: 'invalid' });
      deps.log.info({ request_id: requestId, reason: result.reason }, 'posture assertion refused');
      return INVALID;
    }
    if (!hasPostureHeaders(headers)) return NONE;
    if (!deps.isTrustedPostureProxy(peerIp)) {
      deps.metrics.postureChecks.inc({ result: 'untrusted_source' });
      deps.log.warn(
        { request_id: requestId, peer: peerIp },
        'X-Device-* headers from an untrusted peer ignored',
      );
      return UNTRUSTED;
    }
    const facts = postureFromHeaders(headers, now);
    return refusedIfOutdated(facts, requestId) ?? { source: 'headers', facts, email: undefined };
  };
}

export type PostureCollector = ReturnType<typeof createPostureCollector>;
