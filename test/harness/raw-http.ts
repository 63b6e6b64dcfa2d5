import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** A response as the bytes on the wire told it, without any client normalizing it. */
export interface RawReply {
  readonly raw: string;
  readonly status: number;
  /** Lower-cased names; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Parses the first response of a raw exchange (status 0 when the server sent nothing). */
export function parseRawReply(raw: string): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return {
    raw,
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0),
    headers,
    body: end === -1 ? '' : raw.slice(end + 4),
  };
}

/** Opens a TCP connection to the gateway on loopback (optionally from another local address). */
export function openSocket(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress && { localAddress }) });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads everything until the server closes the connection. */
export function readUntilClose(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
    socket.on('close', () => resolve(reply));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve(reply) : reject(error),
    );
  });
}

/**
 * Writes `bytes` exactly as given (so no HTTP client can normalize the request line or the
 * headers) and returns the parsed reply once the server closes (send `Connection: close`).
 * No half-close: Node's server treats a client's FIN as an abort of requests in flight.
 */
export async function rawRequest(
  port: number,
  bytes: string | Buffer,
  localAddress?: string,
): Promise<RawReply> {
  const socket = await openSocket(port, localAddress);
  const done = readUntilClose(socket);
  socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  return parseRawReply(await done);
}

/**
 * Sends a WebSocket upgrade and resolves with the head of the answer (a 101 or a refusal),
 * as the browser sees it, before any frame; then closes the connection.
 */
export async function rawUpgradeHead(
  port: number,
  host: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawReply> {
  const socket = await openSocket(port);
  const lines = Object.entries({
    Host: `${host}:${port}`,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
  return new Promise((resolve, reject) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(parseRawReply(received));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(parseRawReply(received)));
  });
}
