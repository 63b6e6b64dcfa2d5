import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
// Below the ephemeral range: Redis restarts on its port, which an outgoing connection of any
// test running beside this one could otherwise take while it is down.
import { freePort } from '../../bench/lib/free-port.mjs';

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end('PING\r\n'));
    socket.on('data', (data) => resolve(data.toString().startsWith('+PONG')));
    socket.on('error', () => resolve(false));
  });
}

/**
 * A real redis-server of our own (installed by scripts/ensure-test-deps.sh) on a free port, no
 * persistence. `stop` simulates Redis going away; `start` brings it back on the same port.
 */
export async function startRedis() {
  const port = await freePort();
  let child: ChildProcess | undefined;
  async function start(): Promise<void> {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100 && !(await answers(port)); i++)
      await new Promise((r) => setTimeout(r, 50));
  }
  async function stop(): Promise<void> {
    if (child === undefined) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    child = undefined;
  }
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop };
}

export type TestRedis = Awaited<ReturnType<typeof startRedis>>;
