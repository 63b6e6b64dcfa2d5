import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { escapeHtml } from '../lib/html.js';

/** The headers an internal app would read to know who is calling. */
const IDENTITY_HEADERS = [
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
];

function describeRequest(req: IncomingMessage) {
  return { method: req.method, path: req.url, headers: req.headers };
}

function page(req: IncomingMessage, name: string): string {
  const rows = IDENTITY_HEADERS.map(
    (h) => `<tr><th>${h}</th><td>${escapeHtml(String(req.headers[h] ?? '—'))}</td></tr>`,
  ).join('');
  const all = escapeHtml(JSON.stringify(req.headers, null, 2));
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(name)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:3rem auto}th{text-align:left;padding-right:1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head>
<body><h1>${escapeHtml(name)}</h1><p>This internal app knows you only from the headers the gateway sent:</p>
<table>${rows}</table>
<p>Request: <code>${escapeHtml(`${req.method} ${req.url}`)}</code></p>
<p>WebSocket echo through the gateway: <output id="ws">connecting…</output></p>
<p><a href="/.ztna/me">Your session</a> · <a href="/.ztna/logout">Sign out</a></p>
<details><summary>All headers received</summary><pre>${all}</pre></details>
<script>const s=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/ws');s.onopen=()=>s.send('hello');s.onmessage=e=>{document.getElementById('ws').textContent='received "'+e.data+'"';s.close()};s.onerror=()=>{document.getElementById('ws').textContent='refused'};</script>
</body></html>`;
}

/**
 * The demo's internal app: shows who the gateway says you are (identity headers), answers
 * JSON to API clients, and echoes WebSocket messages. It has no login of its own, exactly as
 * an app behind an access proxy should.
 */
export async function startDemoApp(
  name = 'Demo internal app',
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if ((req.headers.accept ?? '').includes('application/json') || req.url === '/status') {
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify(describeRequest(req)));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(req, name));
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(String(data))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
