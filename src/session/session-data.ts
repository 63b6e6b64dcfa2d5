import type { Identity } from '../policy/types.js';

/**
 * IdP tokens kept server-side; never sent to the browser or to upstreams (SPEC §4.3). The
 * access token is not kept: the gateway never calls an API with it, and a store dump should
 * hold as few usable credentials as possible (it was also a third of a session's bytes).
 * From the memory store they come as a PackedTokens: read the fields by name, never copy the
 * object by spreading it (its tokens are getters, which a spread leaves behind).
 */
export interface StoredTokens {
  /** For the IdP logout's `id_token_hint`. */
  readonly idToken: string | undefined;
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
    /** The IdP's session id (`sid` of the ID token): a back-channel logout names it. */
    idpSid: string;
    /** The device this session is bound to (SPEC §6): the first device id seen. */
    deviceId: string;
    /** Epoch ms of the last login made for a step-up: a second step-up soon after is refused. */
    steppedUpAt: number;
  }
}
