// A real redis-server of the bench's own (like test/harness/redis.ts): its own port on
// loopback, pinned with the other servers. `kill()` is a crash (SIGKILL), `start()` brings it
// back on the same port. Persistence is the append-only file in a temp dir (appendfsync
// everysec, Redis's production default): a killed Redis comes back with its sessions, as a
// production Redis does, so recovery is measured with the session signed in before the crash.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startServer } from './procs.mjs';

/** Whether a Redis answers PING on `port` now. */
export function redisAnswers(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startRedis() {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'ztna-bench-redis-'));
  let server;
  const args = [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
    ...['--appendonly', 'yes', '--appendfsync', 'everysec'],
  ];
  const redis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return server?.pid;
    },
    /** Starts redis-server; resolves when it answers PING. */
    async start() {
      server = startServer('redis-server', args, { name: 'redis-server' });
      for (let i = 0; i < 200; i++) {
        if (await redisAnswers(port)) return;
        if (server.child.exitCode !== null) await server.died;
        await sleep(25);
      }
      throw new Error(`redis-server does not answer on port ${port}:\n${server.stderr()}`);
    },
    /** A crash: SIGKILL, resolves when the process is gone. */
    async kill() {
      await server?.kill();
    },
    async close() {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
