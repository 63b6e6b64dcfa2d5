import type { ErrorCode } from '../errors.js';
import type { UpstreamErrorKind } from '../metrics/registry.js';

/** Error code set on our own timeout, so it is told apart from a reset. */
export const UPSTREAM_TIMEOUT_CODE = 'ZTNA_UPSTREAM_TIMEOUT';

const CONNECT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'EHOSTDOWN',
]);
const TIMEOUT = new Set([
  UPSTREAM_TIMEOUT_CODE,
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  // undici: no response head, or no body byte, within the route's timeout; or no connection.
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Sorts an upstream failure into the kinds SPEC §10 counts. */
export function classifyUpstreamError(error: unknown): UpstreamErrorKind {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  if (TIMEOUT.has(code)) return 'timeout';
  if (CONNECT.has(code)) return 'connect';
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'HOSTNAME_MISMATCH'
  ) {
    return 'tls';
  }
  return 'reset';
}

export const UPSTREAM_ERROR_CODES: Readonly<Record<UpstreamErrorKind, ErrorCode>> = {
  connect: 'ZTNA_ERR_UPSTREAM_CONNECT',
  timeout: 'ZTNA_ERR_UPSTREAM_TIMEOUT',
  reset: 'ZTNA_ERR_UPSTREAM_RESET',
  tls: 'ZTNA_ERR_UPSTREAM_TLS',
};
