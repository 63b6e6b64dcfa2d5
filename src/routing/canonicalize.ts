import { isIP } from 'node:net';

/**
 * The request target after SPEC §7 canonicalization. `path` is what the policy sees and what
 * the upstream receives; `query` is the original query (with its `?`), untouched.
 */
export interface CanonicalTarget {
  readonly path: string;
  readonly query: string;
  /**
   * Segment names used for matching: each segment with its `;params` removed. Matching on names
   * means `/admin;jsessionid=1/x` is judged as `/admin/x`, which is how servlet containers
   * route it (RFC 3986 §3.3 params are attributes of a segment, not part of its name).
   */
  readonly segments: readonly string[];
  /**
   * The path carries a double-encoded `.`, `/`, `\` or `;` (`%252e`, `%252F`, `%255c`, `%253B`, any case, or
   * deeper: `%25252f`). It is forwarded as the literal text it is, but an upstream that decodes
   * twice would read `/public/..%252fadmin` as `/admin`: the route step refuses it unless the
   * chosen route sets `allow_double_encoding` (SPEC §7). Only the route knows, hence a flag.
   */
  readonly doubleEncoded: boolean;
}

/** Why a request target was refused (400). Stable strings: they end up in logs and tests. */
export type TargetRejection =
  | 'not_origin_form'
  | 'bad_character'
  | 'fragment'
  | 'bad_percent_encoding'
  | 'encoded_slash'
  | 'encoded_backslash'
  | 'encoded_control'
  | 'invalid_utf8'
  | 'dot_segment_with_params'
  | 'empty_segment_with_params'
  | 'escapes_root'
  /** Refused by the route step, not here: see `CanonicalTarget.doubleEncoded`. */
  | 'double_encoding';

export type CanonicalizeResult =
  | { readonly ok: true; readonly target: CanonicalTarget }
  | { readonly ok: false; readonly rejection: TargetRejection };

/** A refused segment; an object so that no segment text can be mistaken for a refusal. */
interface Refused {
  readonly rejection: TargetRejection;
}

function refuse(rejection: TargetRejection): Refused {
  return { rejection };
}

const HEX = '0123456789ABCDEF';
// WHATWG URL "path percent-encode set" minus what is refused anyway (controls, space, #).
const WHATWG_PATH_ENCODED = new Set([0x22, 0x3c, 0x3e, 0x3f, 0x60, 0x7b, 0x7d]);
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

// RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~"
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

/**
 * `%25` (once or more) followed by the escape of `.`, `/`, `\` or `;`, in the canonical path:
 * what the upstream receives. Checked after decoding, so `%25%32%65` (which becomes `%252e`)
 * counts. `;` because a servlet container that decodes twice reads `..%253B` as `..;`, which
 * it resolves as `..` (the gateway refuses a literal `..;` for the same reason).
 */
const DOUBLE_ENCODED_SEPARATOR = /%25(?:25)*(?:2e|2f|5c|3b)/i;

/** Raw bytes a request target may never carry: controls, space, DEL and anything non-ASCII. */
function isForbiddenRaw(code: number): boolean {
  return code <= 0x20 || code >= 0x7f;
}

/**
 * Normalizes one raw path segment: decodes percent-encoded unreserved characters once,
 * upper-cases the hex of every other escape, and rejects what must never reach routing.
 */
function normalizeSegment(raw: string): string | Refused {
  let out = '';
  let hasHighBytes = false;
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code === 0x25 /* % */) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return refuse('bad_percent_encoding');
      const byte = hi * 16 + lo;
      i += 2;
      // An encoded separator would let the policy and the upstream disagree on segments.
      if (byte === 0x2f) return refuse('encoded_slash');
      if (byte === 0x5c) return refuse('encoded_backslash');
      if (byte === 0x23) return refuse('fragment');
      if (byte < 0x20 || byte === 0x7f) return refuse('encoded_control');
      if (isUnreserved(byte)) {
        out += String.fromCharCode(byte);
      } else {
        if (byte >= 0x80) hasHighBytes = true;
        out += '%' + HEX[byte >> 4] + HEX[byte & 15];
      }
      continue;
    }
    if (isForbiddenRaw(code)) return refuse('bad_character');
    if (code === 0x5c /* \ */) return refuse('bad_character');
    if (code === 0x23 /* # */) return refuse('fragment');
    // Encode what WHATWG URL parsing would encode, so that the canonical path is a fixed point
    // of `new URL()` (which http-proxy applies) and the upstream sees exactly this path.
    out += WHATWG_PATH_ENCODED.has(code) ? '%' + HEX[code >> 4] + HEX[code & 15] : raw[i];
  }
  if (hasHighBytes && !isValidUtf8(out)) return refuse('invalid_utf8');
  return out;
}

/** Validates the percent-encoded bytes of a normalized segment as strict UTF-8 (no overlongs). */
function isValidUtf8(segment: string): boolean {
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    if (segment[i] === '%') {
      bytes.push(parseInt(segment.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(segment.charCodeAt(i));
    }
  }
  try {
    STRICT_UTF8.decode(Uint8Array.from(bytes));
    return true;
  } catch {
    return false;
  }
}

/**
 * Canonicalizes a raw request target (`req.url`) per SPEC §7, or says why it is refused.
 *
 * Only origin-form (`/path?query`) is accepted: an absolute-form target would carry a second,
 * competing authority. The query is never decoded or matched; it is forwarded as received.
 */
export function canonicalizeTarget(rawTarget: string): CanonicalizeResult {
  if (rawTarget.charCodeAt(0) !== 0x2f /* / */) return { ok: false, rejection: 'not_origin_form' };
  const q = rawTarget.indexOf('?');
  const rawPath = q === -1 ? rawTarget : rawTarget.slice(0, q);
  const query = q === -1 ? '' : rawTarget.slice(q);
  for (let i = 0; i < query.length; i++) {
    const code = query.charCodeAt(i);
    if (isForbiddenRaw(code)) return { ok: false, rejection: 'bad_character' };
    if (code === 0x23) return { ok: false, rejection: 'fragment' };
  }

  const parts = rawPath.split('/');
  const kept: string[] = [];
  const names: string[] = [];
  let trailingSlash = false;
  for (let k = 1; k < parts.length; k++) {
    const isLast = k === parts.length - 1;
    const segment = normalizeSegment(parts[k]!);
    if (typeof segment !== 'string') return { ok: false, rejection: segment.rejection };
    trailingSlash = isLast;
    if (segment === '' || segment === '.') continue; // `//` collapses; `.` is the same directory
    if (segment === '..') {
      if (kept.length === 0) return { ok: false, rejection: 'escapes_root' };
      kept.pop();
      names.pop();
      continue;
    }
    const semicolon = segment.indexOf(';');
    const name = semicolon === -1 ? segment : segment.slice(0, semicolon);
    // `..;` and `.;x` are dot segments to servlet containers; `;x` alone is an empty one.
    if (semicolon !== -1 && (name === '.' || name === '..')) {
      return { ok: false, rejection: 'dot_segment_with_params' };
    }
    if (semicolon !== -1 && name === '')
      return { ok: false, rejection: 'empty_segment_with_params' };
    kept.push(segment);
    names.push(name);
    trailingSlash = false;
  }
  const path = '/' + kept.join('/') + (trailingSlash && kept.length > 0 ? '/' : '');
  return {
    ok: true,
    target: { path, query, segments: names, doubleEncoded: DOUBLE_ENCODED_SEPARATOR.test(path) },
  };
}

/** A Host header split into the canonical host (for matching) and the authority (for URLs). */
export interface CanonicalHost {
  /** Lower-cased, without port or trailing dot: what routes match on. */
  readonly host: string;
  /** `host[:port]` as the client addressed us, canonicalized: what redirect URLs use. */
  readonly authority: string;
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Canonicalizes a Host header per SPEC §7: lower-case, port and one trailing dot dropped.
 * Returns undefined for anything that is not a plain DNS name or IP literal.
 */
export function canonicalizeHost(header: string | undefined): CanonicalHost | undefined {
  if (header === undefined || header.length === 0 || header.length > 260) return undefined;
  const value = header.toLowerCase();
  let host: string;
  let port: string;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end === -1 || isIP(value.slice(1, end)) !== 6) return undefined;
    host = value.slice(0, end + 1);
    port = value.slice(end + 1);
  } else {
    const colon = value.indexOf(':');
    host = colon === -1 ? value : value.slice(0, colon);
    port = colon === -1 ? '' : value.slice(colon);
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (host.length === 0 || host.length > 253) return undefined;
    for (const label of host.split('.')) if (!LABEL.test(label)) return undefined;
  }
  if (port !== '' && !/^:\d{1,5}$/.test(port)) return undefined;
  return { host, authority: host + port };
}
