// Reference forwarders (targets b and c): the bare proxy library, as its README suggests it,
// with a keep-alive agent (without one it sends `Connection: close`) and an 'error' listener.
// Also "undici": the smallest forwarder on undici's Pool, which the gateway forwards with (the
// floor of the gateway's own design; no checks, no header hygiene).
//   argument: {"library": "http-proxy-3" | "http-proxy" | "undici", "upstream": "http://127.0.0.1:PORT"}
import { Agent, createServer } from 'node:http';
import { announceReady, childArgument } from '../lib/protocol.mjs';

const { library, upstream } = childArgument();

async function proxyLibraryHandler() {
  const { createProxyServer } =
    library === 'http-proxy' ? (await import('http-proxy')).default : await import('http-proxy-3');
  const proxy = createProxyServer({ target: upstream, agent: new Agent({ keepAlive: true }) });
  proxy.on('error', (_error, _req, res) => {
    if (typeof res.writeHead === 'function' && !res.headersSent) res.writeHead(502);
    res.end();
  });
  return (req, res) => proxy.web(req, res);
}

async function undiciHandler() {
  const { Pool } = await import('undici');
  const pool = new Pool(upstream);
  return (req, res) => {
    const headers = { ...req.headers };
    delete headers.connection;
    delete headers.host;
    pool.dispatch(
      { method: req.method, path: req.url, headers, body: null },
      {
        onConnect() {},
        onHeaders(status, raw) {
          res.writeHead(status, raw.map(String));
          return true;
        },
        onData: (chunk) => res.write(chunk),
        onComplete: () => res.end(),
        onError() {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        },
      },
    );
  };
}

const handler = library === 'undici' ? await undiciHandler() : await proxyLibraryHandler();
const server = createServer(handler);
server.listen(0, '127.0.0.1', () => announceReady({ port: server.address().port }));
