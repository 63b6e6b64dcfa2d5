import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PageSender } from '../pages/render.js';
import type { Answer } from './answer.js';
import { authenticateHeaderFor, loginRedirectOf, pageFor } from './answer-page.js';
import type { RequestContext } from './context.js';

/**
 * SPEC §2 step 3 for browsers: a navigation (GET/HEAD asking for HTML) is sent to sign in;
 * anything else (XHR, API clients, forms) gets 401, because a redirect would be followed
 * invisibly by a script or lose a request body.
 */
export function wantsLoginRedirect(req: IncomingMessage): boolean {
  return (
    (req.method === 'GET' || req.method === 'HEAD') &&
    (req.headers.accept ?? '').includes('text/html')
  );
}

/** Delivers an answer as an HTTP response: a redirect to sign in, or a page (HTML or JSON). */
export function createHttpRenderer(sendPage: PageSender) {
  return function renderHttp(
    req: IncomingMessage,
    res: ServerResponse,
    answer: Answer,
    context: RequestContext,
  ): void {
    const login = loginRedirectOf(answer);
    if (login !== undefined && wantsLoginRedirect(req)) {
      res.writeHead(302, { Location: login, 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    const challenge = authenticateHeaderFor(answer);
    if (challenge !== undefined) res.setHeader('WWW-Authenticate', challenge);
    sendPage(req, res, pageFor(answer, context), context.requestId);
  };
}

export type HttpRenderer = ReturnType<typeof createHttpRenderer>;
