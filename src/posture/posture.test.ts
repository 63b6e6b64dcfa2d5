import { describe, expect, test } from '@jest/globals';
import type { CollectedPosture } from './collect.js';
import { judgeDeviceBinding } from './device-binding.js';
import { isAtLeast, parseVersion } from './os-version.js';
import { hasPostureHeaders, postureFromHeaders } from './trusted-headers.js';

describe('OS versions', () => {
  test.each([
    ['10.0.19045', '10.0.9999', true],
    ['10.0.9999', '10.0.19045', false],
    ['14.4', '14.4', true],
    ['14.4.1', '14.4', true],
    ['14', '14.0.1', false],
    ['14.10', '14.9', true],
    ['6.1.0-rc1', '6.1', true],
  ])('%s >= %s: %s', (version, minimum, expected) => {
    expect(isAtLeast(parseVersion(version)!, parseVersion(minimum)!)).toBe(expected);
  });

  test('unreadable versions parse to nothing', () => {
    expect(parseVersion('Sonoma')).toBeUndefined();
    expect(parseVersion('')).toBeUndefined();
    expect(parseVersion('14.4.1 (23E224)')).toEqual([14, 4, 1]);
  });
});

describe('plain posture headers', () => {
  test('are read leniently in case, strictly in values', () => {
    const facts = postureFromHeaders(
      {
        'x-device-id': 'd-9',
        'x-device-managed': 'TRUE',
        'x-device-os': 'Windows',
        'x-device-os-version': '10.0.22631',
        'x-device-disk-encrypted': '1',
        'x-device-edr': 'maybe',
        'x-device-firewall': 'no',
      },
      42,
    );
    expect(facts).toEqual({
      deviceId: 'd-9',
      managed: true,
      os: 'windows',
      osVersion: '10.0.22631',
      diskEncrypted: true,
      edrRunning: undefined,
      firewall: false,
      observedAt: 42,
    });
  });

  test('an unknown OS is no OS', () => {
    expect(postureFromHeaders({ 'x-device-os': 'templeos' }, 0).os).toBeUndefined();
  });

  test('presence ignores the signed assertion header', () => {
    expect(hasPostureHeaders({ 'x-device-posture': 'jws' })).toBe(false);
    expect(hasPostureHeaders({ 'x-device-managed': 'true' })).toBe(true);
  });
});

describe('device binding', () => {
  const alice = 'alice@corp.example';
  const seen = (deviceId?: string, email?: string): CollectedPosture => ({
    source: 'assertion',
    facts: deviceId === undefined ? undefined : { deviceId, observedAt: 0 },
    email,
  });
  test.each<[string, string | undefined, CollectedPosture, string]>([
    // SPEC §6: once bound, a request without valid evidence from the device is not served.
    [
      'no evidence',
      'd-1',
      { source: 'none', facts: undefined, email: undefined },
      'device_missing',
    ],
    [
      'a refused assertion',
      'd-1',
      { source: 'invalid', facts: undefined, email: undefined },
      'device_missing',
    ],
    [
      'plain headers from an untrusted peer',
      'd-1',
      { source: 'untrusted_source', facts: undefined, email: undefined },
      'device_missing',
    ],
    [
      'trusted headers that name no device',
      'd-1',
      { source: 'headers', facts: { managed: true, observedAt: 0 }, email: undefined },
      'device_missing',
    ],
    // Not yet bound (no evidence at sign-in): nothing to miss, so no sign-in loop.
    [
      'no evidence, nothing bound',
      undefined,
      { source: 'none', facts: undefined, email: undefined },
      'ok',
    ],
    ['same device', 'd-1', seen('d-1'), 'ok'],
    ['first device seen', undefined, seen('d-1'), 'bind'],
    ['another device', 'd-1', seen('d-2'), 'device_changed'],
    ['signed for this user', 'd-1', seen('d-1', 'alice@corp.example'), 'ok'],
    ['signed for another user', 'd-1', seen('d-1', 'bob@corp.example'), 'user_mismatch'],
  ])('%s (bound: %s)', (_name, bound, posture, expected) => {
    expect(judgeDeviceBinding(bound, posture, alice)).toBe(expected);
  });
});
