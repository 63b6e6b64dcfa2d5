import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { GatewaySettings } from '../config/gateway-settings.js';
import { GatewayError } from '../errors.js';

/** The IdP as the gateway sees it: discovered lazily, retried in the background when down. */
export interface OidcClient {
  /** The discovered configuration; rejects with ZTNA_ERR_IDP_UNAVAILABLE while discovery fails. */
  configuration(): Promise<client.Configuration>;
  /** Whether discovery has succeeded (for /readyz). */
  isReady(): boolean;
  /** Origin of the IdP's end_session_endpoint, when it has one (the logout page's CSP needs it). */
  endSessionOrigin(): string | undefined;
  /** Starts discovery now and keeps retrying with backoff until it succeeds. */
  start(): void;
  close(): void;
}

const MAX_RETRY_MS = 30_000;

/**
 * Creates the OIDC client. Discovery does not block start-up: a gateway that boots while the
 * IdP is briefly down still serves public routes and existing sessions, and reports not-ready.
 */
export function createOidcClient(idp: GatewaySettings['idp'], log: Logger): OidcClient {
  const auth =
    idp.clientAuth === 'client_secret_post'
      ? client.ClientSecretPost(idp.clientSecret)
      : client.ClientSecretBasic(idp.clientSecret);
  // The schema only lets http:// through for loopback issuers (demo and tests).
  const execute = idp.issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [];
  let current: client.Configuration | undefined;
  let inflight: Promise<client.Configuration> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryMs = 1000;
  let closed = false;

  function discoverOnce(): Promise<client.Configuration> {
    inflight ??= client
      .discovery(idp.issuer, idp.clientId, undefined, auth, { execute, timeout: 10 })
      .then((configuration) => {
        current = configuration;
        log.info({ issuer: idp.issuer.href }, 'IdP discovery done');
        return configuration;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  function retryInBackground(): void {
    if (closed || current !== undefined || retryTimer !== undefined) return;
    discoverOnce().catch((error: unknown) => {
      log.warn(
        { issuer: idp.issuer.href, error: describe(error), retry_ms: retryMs },
        'IdP discovery failed; retrying',
      );
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        retryInBackground();
      }, retryMs).unref();
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    });
  }

  return {
    async configuration() {
      if (current !== undefined) return current;
      try {
        return await discoverOnce();
      } catch (error) {
        throw new GatewayError('ZTNA_ERR_IDP_UNAVAILABLE', { cause: error });
      }
    },
    isReady: () => current !== undefined,
    endSessionOrigin() {
      const endpoint = current?.serverMetadata().end_session_endpoint;
      return endpoint === undefined ? undefined : URL.parse(endpoint)?.origin;
    },
    start: retryInBackground,
    close() {
      closed = true;
      clearTimeout(retryTimer);
    },
  };
}

/** An error's code and message, for logs (never a token: openid-client errors carry none). */
export function describe(error: unknown): { code?: string; message: string } {
  const e = error as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code =
    typeof e?.code === 'string'
      ? e.code
      : typeof e?.cause?.code === 'string'
        ? e.cause.code
        : undefined;
  return {
    ...(code && { code }),
    message: typeof e?.message === 'string' ? e.message : String(error),
  };
}
