// Benchmark upstream (target a, and behind every proxy): a plain node:http server on loopback.
//   any path       200, the 1 KB body (keep-alive)
//   /echo-headers  200, the request headers it received as JSON (correctness checks)
//   /download?bytes=N  streams N bytes of generated data
//   /upload        consumes the request body, answers {"bytes": N}
import { createServer } from 'node:http';
import { announceReady, upstreamBody } from '../lib/protocol.mjs';

const BODY = Buffer.from(upstreamBody());
const HEADERS = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': BODY.length };
const CHUNK = Buffer.alloc(64 * 1024, 'ztna');

function download(res, total) {
  let left = total;
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
  const pump = () => {
    while (left > 0) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function upload(req, res) {
  let bytes = 0;
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => res.writeHead(200).end(JSON.stringify({ bytes })));
}

const server = createServer((req, res) => {
  const url = req.url;
  if (url.length > 1 && url.charCodeAt(1) !== 0x3f /* ? */) {
    if (url.startsWith('/upload')) return upload(req, res);
    if (url.startsWith('/download')) {
      req.resume();
      return download(res, Number(new URL(url, 'http://u').searchParams.get('bytes') ?? 0));
    }
    if (url.startsWith('/echo-headers')) {
      req.resume();
      return void res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify(req.headers));
    }
  }
  req.resume();
  res.writeHead(200, HEADERS).end(BODY);
});

server.listen(0, '127.0.0.1', () => announceReady({ port: server.address().port }));
