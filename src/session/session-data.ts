import type { Identity } from '../policy/types.js';

/** IdP tokens kept server-side; never sent to the browser or to upstreams (SPEC §4.3). */
export interface StoredTokens {
  readonly idToken: string | undefined;
  readonly accessToken: string | undefined;
  readonly refreshToken: string | undefined;
  /** Epoch ms when the access token expires, when the IdP said. */
  readonly expiresAt: number | undefined;
}

declare module 'express-session' {
  interface SessionData {
    user: Identity;
    tokens: StoredTokens;
    /** Epoch ms of login: the absolute `max_age` counts from here. */
    createdAt: number;
    /** Per-session token for the logout form (and later other state-changing forms). */
    csrf: string;
    /** The device this session is bound to (SPEC §6): the first device id seen. */
    deviceId: string;
    /** Epoch ms of the last login made for a step-up: a second step-up soon after is refused. */
    steppedUpAt: number;
  }
}
