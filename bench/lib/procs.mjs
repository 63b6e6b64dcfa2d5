// Child processes of the benchmarks: CPU pinning, readiness, RSS sampling, clean shutdown.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.mjs';

export { freePort };

/** The repository root (bench/lib/../..): children run the built gateway from dist/ there. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** CPU of the load generator and CPU of every server, when pinning is on. */
const LOAD_CPU = '0';
const SERVER_CPU = '1';

let pinned = false;
const children = new Set();

function hasTaskset() {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pins this process (the load generator, all its threads) to CPU 0, and makes every server
 * started afterwards run on CPU 1. Only with >= 2 cores and `taskset`; returns whether it did.
 */
export function pinLoadGenerator(enabled = true) {
  pinned = enabled && cpus().length >= 2 && hasTaskset();
  if (pinned)
    execFileSync('taskset', ['-a', '-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  return pinned;
}

/** The environment of server children: ours minus NODE_OPTIONS (jest's flags), plus `extra`. */
function childEnv(extra) {
  const env = { ...process.env, NODE_ENV: 'production', ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

/**
 * Starts `node [nodeArgs] script args` (pinned to the server CPU when pinning is on).
 * stdout is piped when `readyLine` is set (the child prints one JSON line with `ready: true`),
 * appended to `stdoutFile` when given, otherwise discarded (/dev/null): the gateway's audit
 * lines must not reach our terminal.
 * stdin stays open as a pipe: our own server scripts exit when it closes (when we die).
 */
export function startNode(script, args = [], options = {}) {
  const nodeArgs = [...(options.nodeArgs ?? []), script, ...args];
  return startServer(process.execPath, nodeArgs, { name: script, ...options });
}

/**
 * Starts any server program (`startNode` for ours; redis-server) the same way: on the server
 * CPU when pinning is on, ended with the others on exit. Options as for `startNode`.
 */
export function startServer(program, args = [], options = {}) {
  const [command, argv] = pinned
    ? ['taskset', ['-c', SERVER_CPU, program, ...args]]
    : [program, args];
  const logFd = options.stdoutFile === undefined ? undefined : openSync(options.stdoutFile, 'a');
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: childEnv(options.env),
    stdio: ['pipe', options.readyLine ? 'pipe' : (logFd ?? 'ignore'), 'pipe'],
  });
  if (logFd !== undefined) closeSync(logFd);
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal);
    }),
  );
  const name = options.name ?? program;
  const died = exited.then((code) => {
    throw new Error(`${name} exited (${code}) before it was ready:\n${stderr}`);
  });
  died.catch(() => undefined);

  const ready = options.readyLine
    ? Promise.race([died, readyLineOf(child)])
    : Promise.resolve(undefined);
  return {
    child,
    pid: child.pid,
    name,
    stderr: () => stderr,
    exited,
    ready,
    died,
    /** Ends it at once, as a crash would (SIGKILL); resolves when it is gone. */
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function readyLineOf(child) {
  return new Promise((resolve) => {
    let buffered = '';
    const onData = (chunk) => {
      buffered += chunk.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let message;
        try {
          message = JSON.parse(line);
        } catch {
          continue; // not our line: some library's notice
        }
        if (message?.ready === true) {
          child.stdout.off('data', onData);
          child.stdout.resume(); // keep draining whatever else it prints
          resolve(message);
          return;
        }
      }
    };
    child.stdout.on('data', onData);
  });
}

/** Polls `url` until it answers 200 (or the process dies, or `timeoutMs` passes). */
export async function waitForHttp(url, processHandle, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const { exitCode, signalCode } = processHandle.child;
    if (exitCode !== null || signalCode !== null) await processHandle.died;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.message;
    }
    await sleep(100);
  }
  throw new Error(
    `${processHandle.name} not ready at ${url} after ${timeoutMs} ms (${last}):\n${processHandle.stderr()}`,
  );
}

/** VmRSS and VmHWM (peak) of a process, in bytes; undefined once it is gone. */
export function memoryOf(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
}

/** CPU time (user + system) a process has used so far, in milliseconds (clock ticks of 10 ms). */
export function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * Samples a process's VmRSS every `intervalMs` until `stop()`, which returns the peak, when it
 * came (ms after the start), the number of samples and the samples themselves ({ atMs, rss }).
 */
export function sampleRss(pid, intervalMs = 50) {
  const started = performance.now();
  let peak = memoryOf(pid)?.rss ?? 0;
  let peakAtMs = 0;
  const series = [];
  const take = () => {
    const rss = memoryOf(pid)?.rss;
    if (rss === undefined) return;
    const atMs = performance.now() - started;
    series.push({ atMs, rss });
    if (rss > peak) [peak, peakAtMs] = [rss, atMs];
  };
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peak, peakAtMs, samples: series.length, series };
    },
  };
}

/** Ends every child still running (on exit, on Ctrl-C, after a failure). */
export function killChildren() {
  for (const child of children) child.kill('SIGKILL');
}

process.once('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
