import { flatCopy } from '../lib/flat-string.js';
import type { StoredTokens } from './session-data.js';

const PACKED = 0x62; // 'b'

/**
 * The IdP tokens as the memory store holds them: base64url text kept as its bytes, a quarter
 * smaller (about 500 bytes a session, the largest part of one). Only a refresh or a logout
 * reads a token, so it is decoded then and never on the request path.
 *
 * A token is stored as one Latin-1 string (one byte a character in V8): `b` followed by, for
 * each dot-separated segment, its byte length in two characters, then every segment's bytes.
 * Text that base64url cannot give back exactly (padding, other characters, non-zero trailing
 * bits) is kept as it is, behind `t`: a token always comes back exactly as it was received.
 *
 * The tokens are getters: read them by name. A copy made by spreading, Object.assign or
 * structuredClone keeps only `expiresAt` (JSON goes through toJSON and keeps all three).
 */
export class PackedTokens implements StoredTokens {
  readonly #idToken: string | undefined;
  readonly #refreshToken: string | undefined;
  readonly expiresAt: number | undefined;

  constructor(tokens: StoredTokens) {
    this.#idToken = pack(tokens.idToken);
    this.#refreshToken = pack(tokens.refreshToken);
    this.expiresAt = tokens.expiresAt;
    // Shared by every read of the session: nobody may change it in place.
    Object.freeze(this);
  }

  get idToken(): string | undefined {
    return unpack(this.#idToken);
  }

  get refreshToken(): string | undefined {
    return unpack(this.#refreshToken);
  }

  /** express-session's change check (and any JSON) sees the tokens, not the packing. */
  toJSON(): StoredTokens {
    return { idToken: this.idToken, refreshToken: this.refreshToken, expiresAt: this.expiresAt };
  }
}

const MAX_SEGMENTS = 0xff;
const MAX_SEGMENT_BYTES = 0xffff;

function pack(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  if (typeof token !== 'string') throw new TypeError(`an IdP token is ${typeof token}, not text`);
  const segments = token.split('.');
  if (segments.length > MAX_SEGMENTS) return kept(token);
  const parts = [Buffer.from([PACKED, segments.length])];
  const lengths = Buffer.alloc(2 * segments.length);
  parts.push(lengths);
  for (const [i, segment] of segments.entries()) {
    // The round trip is the test: Node's decoder skips what is not base64url (`=`, spaces)
    // and takes `+/` too, so any such text comes back different and is kept as it is.
    const decoded = Buffer.from(segment, 'base64url');
    if (decoded.length > MAX_SEGMENT_BYTES || decoded.toString('base64url') !== segment)
      return kept(token);
    lengths.writeUInt16BE(decoded.length, 2 * i);
    parts.push(decoded);
  }
  // Made from one buffer, the string is flat: no rope of its pieces stays behind it.
  return Buffer.concat(parts).toString('latin1');
}

/** Text that does not round-trip through base64url, as received. */
function kept(token: string): string {
  return flatCopy(`t${token}`);
}

function unpack(packed: string | undefined): string | undefined {
  if (packed === undefined) return undefined;
  if (packed.charCodeAt(0) !== PACKED) return packed.slice(1);
  const count = packed.charCodeAt(1);
  const bytes = Buffer.from(packed.slice(2 + 2 * count), 'latin1');
  const segments: string[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = (packed.charCodeAt(2 + 2 * i) << 8) | packed.charCodeAt(3 + 2 * i);
    segments.push(bytes.subarray(offset, offset + length).toString('base64url'));
    offset += length;
  }
  return segments.join('.');
}
