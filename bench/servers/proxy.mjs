// Reference forwarders (targets b and c): the bare proxy library, as its README suggests it,
// with a keep-alive agent (without one it sends `Connection: close`) and an 'error' listener.
//   argument: {"library": "http-proxy-3" | "http-proxy", "upstream": "http://127.0.0.1:PORT"}
import { Agent, createServer } from 'node:http';
import { announceReady, childArgument } from '../lib/protocol.mjs';

const { library, upstream } = childArgument();
const { createProxyServer } =
  library === 'http-proxy' ? (await import('http-proxy')).default : await import('http-proxy-3');

const proxy = createProxyServer({ target: upstream, agent: new Agent({ keepAlive: true }) });
proxy.on('error', (_error, _req, res) => {
  if (typeof res.writeHead === 'function' && !res.headersSent) res.writeHead(502);
  res.end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.listen(0, '127.0.0.1', () => announceReady({ port: server.address().port }));
