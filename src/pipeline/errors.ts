import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { describe } from '../auth/oidc-client.js';
import { contextOf } from '../context.js';
import { ERROR_CODES, isGatewayError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { errorPage } from '../pages/error.js';
import type { PageSender } from '../pages/render.js';

/**
 * The last handler: nothing may throw past the pipeline (DESIGN §3). An unexpected error is a
 * 500 page with the request id, a log line with the cause, and a metric; the process serves on.
 */
export function createErrorHandler(log: Logger, sendPage: PageSender): ErrorRequestHandler {
  return function handleError(
    error: unknown,
    req: Request,
    res: Response,
    _next: NextFunction,
  ): void {
    const context = contextOf(req);
    const status = (error as { status?: unknown }).status;
    const code: ErrorCode = isGatewayError(error)
      ? error.code
      : typeof status === 'number' && status >= 400 && status < 500
        ? 'ZTNA_ERR_REQUEST_BAD_BODY'
        : 'ZTNA_ERR_INTERNAL';
    const level = ERROR_CODES[code].status >= 500 ? 'error' : 'warn';
    log[level](
      {
        request_id: context.requestId,
        code,
        error: describe(error),
        cause: describe((error as Error).cause),
      },
      'request failed',
    );
    context.outcome ??= 'error';
    context.note ??= code;
    sendPage(req, res, errorPage(code), context.requestId);
  };
}
