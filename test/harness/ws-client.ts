import WebSocket from 'ws';

/**
 * Opens a WebSocket through the gateway on loopback with the given Host and cookies, sends one
 * message and resolves with the reply, or with the HTTP status the upgrade was refused with.
 */
export function wsRoundTrip(
  port: number,
  host: string,
  path: string,
  cookie: string | undefined,
  message: string,
  extraHeaders: Record<string, string> = {},
): Promise<{ reply?: string; status?: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
      headers: { host: `${host}:${port}`, ...(cookie ? { cookie } : {}), ...extraHeaders },
    });
    socket.on('open', () => socket.send(message));
    socket.on('message', (data) => {
      resolve({ reply: String(data) });
      socket.close();
    });
    socket.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      res.resume();
      socket.terminate();
    });
    socket.on('error', reject);
  });
}
