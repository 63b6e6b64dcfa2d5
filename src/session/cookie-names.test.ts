import { describe, expect, test } from '@jest/globals';
import { createCookieNames } from './cookie-names.js';

describe('cookie names', () => {
  test('the login state is __Host- on HTTPS in every mode: it is host-only even with a cookie domain', () => {
    for (const domain of [undefined, '.corp.example']) {
      const names = createCookieNames('ztna_session', domain);
      expect(names.loginState('https', 'abcdefghijklmnopqrst')).toBe(
        '__Host-ztna_session_login_abcdefghijklmnop',
      );
      expect(names.loginState('http', 'abcdefghijklmnopqrst')).toBe(
        'ztna_session_login_abcdefghijklmnop',
      );
    }
    expect(createCookieNames('ztna_session', '.corp.example').session('https')).toBe(
      '__Secure-ztna_session',
    );
  });

  test('the logout hint is __Secure- on HTTPS: its Path is /.ztna/, which __Host- forbids', () => {
    for (const domain of [undefined, '.corp.example']) {
      const names = createCookieNames('ztna_session', domain);
      expect(names.logoutHint('https')).toBe('__Secure-ztna_session_hint');
      expect(names.logoutHint('http')).toBe('ztna_session_hint');
    }
  });

  test('every spelling of a gateway cookie, planted ones included, is recognised (never forwarded)', () => {
    const names = createCookieNames('ztna_session', undefined);
    for (const name of [
      'ztna_session',
      '__Host-ztna_session',
      '__Secure-ztna_session',
      'ztna_session_login_x',
      '__Host-ztna_session_login_x',
      '__Secure-ztna_session_login_x',
      'ztna_session_hint',
      '__Host-ztna_session_hint',
      '__Secure-ztna_session_hint',
    ])
      expect({ name, ours: names.isGatewayCookie(name) }).toEqual({ name, ours: true });
    expect(names.isGatewayCookie('app_session')).toBe(false);
  });
});
