import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { RequestContext } from '../context.js';
import type { Metrics } from '../metrics/registry.js';
import type { PostureCollector } from '../posture/collect.js';
import { judgeDeviceBinding } from '../posture/device-binding.js';

export interface DeviceStepDeps {
  readonly collectPosture: PostureCollector;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
}

/**
 * Step 4 (SPEC §6): collects the request's device posture and checks it against the session's
 * device. Returns `ended` when the session belongs to another device (a copied cookie): the
 * caller ends it and asks for a new login. A first device id is bound to the session.
 */
export function createDeviceStep(deps: DeviceStepDeps) {
  return async function checkDevice(
    req: IncomingMessage,
    context: RequestContext,
    session: { deviceId?: string | undefined } | undefined,
  ): Promise<'ok' | 'ended'> {
    const posture = await deps.collectPosture(req, context.peerIp, context.requestId, deps.now());
    context.posture = posture;
    const verdict = judgeDeviceBinding(session?.deviceId, posture, context.identity!);
    context.deviceVerdict = verdict;
    if (verdict === 'bind' && session !== undefined) session.deviceId = posture.facts!.deviceId!;
    if (verdict !== 'device_changed') return 'ok';
    deps.metrics.authEvents.inc({ event: 'revoked' });
    deps.log.warn(
      {
        request_id: context.requestId,
        sub: context.identity?.sub,
        bound: session?.deviceId,
        seen: posture.facts?.deviceId,
      },
      'session used from another device; ending it',
    );
    return 'ended';
  };
}

export type DeviceStep = ReturnType<typeof createDeviceStep>;
