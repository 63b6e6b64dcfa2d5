import { judgeDeviceBinding } from '../posture/device-binding.js';
import type { Answer } from './answer.js';
import { signInAgain } from './authenticate.js';
import type { Authenticated, Inspected, RequestHead } from './context.js';
import type { PipelineSources } from './sources.js';

type DeviceFacts = Pick<Inspected, 'posture' | 'deviceVerdict'>;

const NO_DEVICE: DeviceFacts = { posture: undefined, deviceVerdict: undefined };

/** What the warning log says when a bound session is presented without its device. */
const ENDED_BECAUSE = {
  device_changed: 'session used from another device; ending it',
  device_missing: 'session used without evidence from its device; ending it',
} as const;

/**
 * Step 4 (SPEC §6): the request's device posture, checked against the session's device. A
 * first device id is bound to the session. Once bound, the session is served only with valid
 * evidence from that device: another device's evidence, or none at all (no assertion, a
 * refused one, plain headers from an untrusted peer), means a cookie that left its device. The
 * session ends (its WebSockets close) and the browser signs in again; the new session is bound
 * only when evidence comes with it, so a device whose agent stopped reporting signs in once and
 * is served unbound, never sent round in a loop. Public routes and services have no device.
 */
export async function inspectDevice(
  context: Pick<Authenticated, 'requestId' | 'peerIp' | 'session' | 'scheme' | 'host' | 'target'>,
  head: RequestHead,
  sources: PipelineSources,
): Promise<DeviceFacts | Answer> {
  const session = context.session;
  if (session === undefined) return NO_DEVICE;
  const posture = await sources.collectPosture(
    head,
    context.peerIp,
    context.requestId,
    sources.now(),
  );
  const verdict = judgeDeviceBinding(session.data.deviceId, posture, session.data.user.email);
  const deviceId = posture.facts?.deviceId;
  if (verdict === 'bind' && deviceId !== undefined) {
    session.data.deviceId = deviceId;
    // A logout or revocation while the evidence was being verified wins over the binding.
    if (!(await sources.saveSession(session))) return signInAgain(context, 'session_ended');
  }
  if (verdict === 'device_changed' || verdict === 'device_missing') {
    // Ended, not only redirected: whoever holds a copy of the cookie must not keep a session
    // that a later replay of the device's evidence could revive.
    sources.observe.authEvent('revoked');
    sources.observe.warn(
      {
        request_id: context.requestId,
        sub: session.data.user.sub,
        bound: session.data.deviceId,
        seen: deviceId,
        evidence: posture.source,
      },
      ENDED_BECAUSE[verdict],
    );
    await sources.endSession(session);
    return signInAgain(context, verdict);
  }
  return { posture, deviceVerdict: verdict };
}
