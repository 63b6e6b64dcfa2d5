// Ports for servers the benchmarks and tests start on a port chosen in advance.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where the kernel's range for ephemeral ports (listen(0), outgoing connections) starts. */
function firstEphemeralPort() {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
}

function canListen(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on loopback for a server that starts later and may restart on it (a
 * gateway between configurations, Redis after a crash). Taken below the kernel's ephemeral
 * range when there is room: a port from that range, free now, can become the source port of
 * any program's outgoing connection before our server binds it, which is what failed the
 * bench smoke test, run beside the test suite, with EADDRINUSE.
 */
export async function freePort() {
  const ephemeral = firstEphemeralPort();
  const low = 10_000;
  if (ephemeral !== undefined && ephemeral - low >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = low + Math.floor(Math.random() * (ephemeral - low));
      if (await canListen(port)) return port;
    }
  }
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
