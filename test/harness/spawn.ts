import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface Spawned {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Resolves with the first stdout JSON line matching `predicate`. */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

/** Runs the built CLI (`dist/main.js`) as a real process, as a user would (with `nodeArgs`). */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs: readonly string[] = [],
): Spawned {
  const child = spawn(process.execPath, [...nodeArgs, 'dist/main.js', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const waiter of waiters) waiter();
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no such log line within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`,
              ),
            ),
          timeoutMs,
        );
        const check = () => {
          for (const line of out.split('\n')) {
            if (!line.startsWith('{')) continue;
            const parsed = JSON.parse(line) as Record<string, unknown>;
            if (predicate(parsed)) {
              clearTimeout(timer);
              resolve(parsed);
              return;
            }
          }
        };
        waiters.push(check);
        check();
      });
    },
  };
}
