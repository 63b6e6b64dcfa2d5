import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { isGatewayError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { contextOf } from '../pipeline/context.js';
import type { HttpRenderer } from '../pipeline/render-http.js';
import { settle } from '../pipeline/run.js';
import type { Observer } from '../pipeline/sources.js';

/**
 * The last handler of the gateway's endpoints: nothing may throw past them (DESIGN §3). An
 * unexpected error is a 500 page with the request id, a log line with the cause, and a metric;
 * the process serves on.
 */
export function createErrorHandler(
  observe: Observer,
  renderHttp: HttpRenderer,
): ErrorRequestHandler {
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
    observe.failure(context.requestId, error);
    const answer = { answer: 'page', code, note: code } as const;
    settle(context, answer);
    renderHttp(req, res, answer, context);
  };
}
