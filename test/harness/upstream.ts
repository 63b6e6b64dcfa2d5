import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export interface Upstream {
  readonly url: string;
  readonly port: number;
  /** Every request this upstream received, in order. */
  readonly seen: SeenRequest[];
  readonly last: () => SeenRequest;
  /** Bytes the latest `/stream` response has handed to its socket so far. */
  streamed(): number;
  /** Lets every `/paused-upload` request read its body (they answer with the byte count). */
  resumeUploads(): void;
  /** URLs of requests whose client went away before the answer was complete. */
  readonly abandoned: string[];
  close(): Promise<void>;
}

/**
 * A real upstream on loopback that records what it receives and answers JSON. Special paths:
 * `/slow?ms=N` waits; `/stream?bytes=N` streams N bytes; `/set-cookie?name=N[&path=P]` sets a
 * cookie (for Path P, / by default); `/clear-site-data?value=V` answers with that
 * Clear-Site-Data; `/ws` echoes WebSocket messages (prefixed with the identity header it saw);
 * `/ws?plant=NAME` adds `Set-Cookie: NAME=planted` to its 101, `/ws?refuse=NAME` refuses the
 * upgrade (401) with a Set-Cookie clearing NAME;
 * `/paused-upload` reads nothing of its body until `resumeUploads()` (back-pressure tests).
 */
export async function startUpstream(tls?: { cert: Buffer; key: Buffer }): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const abandoned: string[] = [];
  let streamedBytes = 0;
  const pausedUploads: (() => void)[] = [];
  const handler: Parameters<typeof createHttpServer>[1] = (req, res) => {
    if (req.url?.startsWith('/paused-upload')) {
      // No 'data' listener: the body stays in the socket, and TCP pushes back on the sender.
      pausedUploads.push(() => {
        let bytes = 0;
        req.on('data', (c: Buffer) => (bytes += c.length));
        req.on('end', () => res.writeHead(200).end(JSON.stringify({ bodyBytes: bytes })));
      });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      const url = new URL(req.url ?? '/', 'http://upstream.invalid');
      if (url.pathname.endsWith('/slow')) {
        res.on('close', () => {
          if (!res.writableFinished) abandoned.push(req.url ?? '');
        });
        setTimeout(
          () => res.writeHead(200).end('slow'),
          Number(url.searchParams.get('ms') ?? 1000),
        );
        return;
      }
      if (url.pathname.endsWith('/stream')) {
        let left = Number(url.searchParams.get('bytes') ?? 0);
        streamedBytes = 0;
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = () => {
          while (left > 0) {
            const piece = chunk.subarray(0, Math.min(chunk.length, left));
            left -= piece.length;
            streamedBytes += piece.length;
            if (!res.write(piece)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      if (url.pathname.endsWith('/clear-site-data')) {
        const value = url.searchParams.get('value') ?? '"cookies"';
        res.writeHead(200, { 'Clear-Site-Data': value }).end('ok');
        return;
      }
      if (url.pathname.endsWith('/set-cookie')) {
        const name = url.searchParams.get('name') ?? 'app';
        const path = url.searchParams.get('path') ?? '/';
        res
          .writeHead(200, {
            'Set-Cookie': [`${name}=planted; Path=${path}`, 'app_pref=dark; Path=/'],
          })
          .end('ok');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Upstream': 'yes' });
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          headers: req.headers,
          bodyBytes: body.length,
        }),
      );
    });
  };
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  const wss = new WebSocketServer({
    server,
    path: '/ws',
    // An upstream that refuses an upgrade, and clears a cookie while it is at it.
    verifyClient: (info, done) => {
      const refuse = new URL(info.req.url ?? '/', 'http://upstream.invalid').searchParams.get(
        'refuse',
      );
      if (refuse === null) return done(true);
      done(false, 401, 'Unauthorized', {
        'Set-Cookie': `${refuse}=; Max-Age=0; Path=/`,
        'X-App': 'refused',
      });
    },
  });
  // An upstream that tries to plant a cookie with its 101.
  wss.on('headers', (headers, req) => {
    const plant = new URL(req.url ?? '/', 'http://upstream.invalid').searchParams.get('plant');
    if (plant !== null)
      headers.push(`Set-Cookie: ${plant}=planted; Path=/`, 'Set-Cookie: app_pref=dark; Path=/');
  });
  wss.on('connection', (socket, req) => {
    seen.push({
      method: 'GET',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
    });
    socket.on('message', (data) =>
      socket.send(`${String(req.headers['x-forwarded-user'] ?? '-')}:${String(data)}`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    seen,
    abandoned,
    last: () => {
      const request = seen.at(-1);
      if (request === undefined) throw new Error('the upstream has seen no request');
      return request;
    },
    streamed: () => streamedBytes,
    resumeUploads: () => {
      for (const resume of pausedUploads.splice(0)) resume();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
