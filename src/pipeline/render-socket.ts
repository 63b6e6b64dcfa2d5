import type { Socket } from 'node:net';
import type { Answer } from './answer.js';
import { authenticateHeaderFor, pageFor } from './answer-page.js';
import type { RequestContext } from './context.js';

/**
 * Delivers an answer on a raw socket (a refused upgrade, a CONNECT), which has no response
 * object: the status of the same page the HTTP renderer would send, with its JSON, then close.
 */
export function renderOnSocket(socket: Socket, answer: Answer, context: RequestContext): number {
  const page = pageFor(answer, context);
  const body = JSON.stringify({ ...page.json, request_id: context.requestId });
  const challenge = authenticateHeaderFor(answer);
  // destroySoon, not just end: an upgrade or CONNECT socket has left the HTTP server's timeouts,
  // and a client that never sends its FIN would otherwise keep it half-open for ever.
  socket.write(
    `HTTP/1.1 ${page.status} ${page.title}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      'Cache-Control: no-store\r\n' +
      (challenge === undefined ? '' : `WWW-Authenticate: ${challenge}\r\n`) +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroySoon();
  return page.status;
}
