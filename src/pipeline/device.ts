import { judgeDeviceBinding } from '../posture/device-binding.js';
import type { Answer } from './answer.js';
import { signInAgain } from './authenticate.js';
import type { Authenticated, Inspected, RequestHead } from './context.js';
import type { PipelineSources } from './sources.js';

type DeviceFacts = Pick<Inspected, 'posture' | 'deviceVerdict'>;

const NO_DEVICE: DeviceFacts = { posture: undefined, deviceVerdict: undefined };

/**
 * Step 4 (SPEC §6): the request's device posture, checked against the session's device. A
 * first device id is bound to the session; another device's evidence means a copied cookie:
 * the session ends and the browser signs in again. Public routes and services have no device.
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
  if (verdict === 'device_changed') {
    sources.observe.authEvent('revoked');
    sources.observe.warn(
      {
        request_id: context.requestId,
        sub: session.data.user.sub,
        bound: session.data.deviceId,
        seen: deviceId,
      },
      'session used from another device; ending it',
    );
    await sources.endSession(session);
    return signInAgain(context, 'device_changed');
  }
  return { posture, deviceVerdict: verdict };
}
