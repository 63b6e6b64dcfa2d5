// Request-path benchmark (issue 11): requests/s, p50/p99 latency and peak RSS of the servers,
// for the upstream, two bare proxy libraries, an express gateway and the gateway itself.
// Run: npm run bench [-- --duration 10 --rounds 2 --connections 1,50 --only e,g --out FILE]
// See bench/README.md for what each target is and how to read the table.
import { runLoad } from './lib/load.mjs';
import { imageEnv, imageEnvWords, imageNodeArgs } from './lib/launch.mjs';
import { cpuMsOf, pinLoadGenerator, ROOT, sampleRss } from './lib/procs.mjs';
import {
  cell,
  environment,
  list,
  mb,
  median,
  parseOptions,
  printTable,
  progress,
  warnIfBusy,
  writeReport,
} from './lib/report.mjs';
import { startBenchStack } from './lib/stack.mjs';
import { GATEWAY_TARGETS, TARGETS as SHARED_TARGETS, verifyTarget } from './lib/targets.mjs';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const USAGE = `node bench/run.mjs [--duration S] [--rounds N] [--connections 1,50] [--only a,b,...]
                   [--warmup S] [--start-warmup S] [--out FILE] [--no-pin]
                   [--baseline DIR [--baseline-node-args ARGS]]
  --duration S        seconds of measured load per target and connection count (default 10)
  --rounds N          rounds; the target order alternates between rounds (default 2)
  --connections LIST  keep-alive connection counts (default 1,50)
  --only LIST         targets to run, of a-h and u (bare undici; default all)
  --warmup S          seconds of unmeasured load before each measurement (default duration/5, 0.2-2)
  --start-warmup S    seconds of unmeasured load before a freshly started server's first
                      measurement, while its JIT compiles (default the duration, at most 6)
  --out FILE          JSON report (default bench/results/latest.json)
  --no-pin            do not pin the load generator and the servers to separate CPUs
  --baseline DIR      also run the gateway targets (e-h) on the build in DIR/dist (a checkout of
                      another commit, built), as E-H: before and after in one run
  --baseline-node-args ARGS
                      node options for the baseline's gateway (with --baseline . : the same
                      build with and without them), written with '=' as they start with a
                      dash: --baseline-node-args=--max-semi-space-size=16`;

/** This run's targets: the shared ones, and E-H when there is a --baseline. */
const TARGETS = { ...SHARED_TARGETS };

/** Targets E-H: e-h on the gateway build in `dir` (`--baseline`), with `nodeArgs` if given. */
function addBaselineTargets(dir, nodeArgs) {
  const main = join(resolve(dir), 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`--baseline: ${main} does not exist (build it first)`);
  for (const id of GATEWAY_TARGETS) {
    const target = TARGETS[id];
    TARGETS[id.toUpperCase()] = {
      ...target,
      name: `${target.name} @baseline`,
      start: (stack) => target.start(stack, { main, nodeArgs }),
    };
  }
}

async function measureTarget(stack, id, options, measurements) {
  const target = await TARGETS[id].start(stack);
  try {
    await verifyTarget(id, target);
    for (const [index, connections] of options.connections.entries()) {
      const load = { port: target.port, headers: target.headers, connections };
      // Every target is a fresh process, and its first seconds of load are also its JIT's:
      // after 1.6 s of load, the p99 a gateway added at 1 conn was 0.16-0.17 ms higher than
      // after 6 s (the bare forwarder's, with less code to compile, was the same). Servers in
      // use run warm; a measurement of one that is still compiling measures its start-up.
      const warmup = index === 0 ? options.startWarmup : options.warmup;
      await runLoad({ ...load, duration: warmup });
      const sampler = sampleRss(target.server.pid);
      const cpuBefore = cpuMsOf(target.server.pid);
      const result = await runLoad({ ...load, duration: options.duration });
      const cpuUsPerRequest = ((cpuMsOf(target.server.pid) - cpuBefore) * 1000) / result.requests;
      const peakRss = sampler.stop().peak;
      measurements.push({
        target: id,
        connections,
        round: options.round,
        ...result,
        peakRss,
        cpuUsPerRequest,
      });
      progress(
        `  ${id} ${TARGETS[id].name}, ${connections} conns: ${cell(result.rps)} req/s, p99 ${cell(result.p99, 2)} ms` +
          (result.non2xx + result.errors > 0
            ? ` (${result.non2xx} non-2xx, ${result.errors} errors)`
            : ''),
      );
      // A valid request refused under load (a 5xx, a lost session) is a broken target.
      if (result.non2xx > 0)
        throw new Error(`${result.non2xx} non-2xx answers under load at ${connections} conns`);
    }
  } finally {
    if (!target.shared) await target.server.stop();
  }
}

/** Medians over rounds per target and connection count, with ratios to (b) and p99 over (a). */
function summarize(ids, connectionCounts, measurements, failures) {
  const rows = [];
  for (const connections of connectionCounts) {
    const of = (id) => measurements.filter((m) => m.target === id && m.connections === connections);
    const stat = (id, key) => median(of(id).map((m) => m[key]));
    // Each round's own ratio, then their median: the machine's speed drifts between rounds
    // (by half on a busy day), and (b) runs in every round, close in time to each target.
    const ratioToB = (id) =>
      median(
        of(id).flatMap((m) => {
          const b = of('b').find((r) => r.round === m.round);
          return b === undefined ? [] : [m.rps / b.rps];
        }),
      );
    for (const id of ids) {
      const runs = of(id);
      rows.push({
        target: id,
        name: TARGETS[id].name,
        connections,
        rps: stat(id, 'rps'),
        ratioToB: ratioToB(id),
        p50Ms: stat(id, 'p50'),
        p99Ms: stat(id, 'p99'),
        p99AddedOverAMs: stat(id, 'p99') - stat('a', 'p99'),
        peakRssMb: runs.length === 0 ? NaN : mb(Math.max(...runs.map((m) => m.peakRss))),
        serverCpuUsPerRequest: stat(id, 'cpuUsPerRequest'),
        non2xx: runs.reduce((n, m) => n + m.non2xx, 0),
        errors: runs.reduce((n, m) => n + m.errors + m.timeouts, 0),
        rounds: runs.length,
        failed: failures[id],
      });
    }
  }
  return rows;
}

function printSummary(rows) {
  printTable(
    [
      'target',
      'conns',
      'req/s',
      'x (b)',
      'p50 ms',
      'p99 ms',
      'p99 +(a) ms',
      'peak RSS MB',
      'CPU us/req',
    ],
    rows.map((r) => [
      `(${r.target}) ${r.name}`,
      String(r.connections),
      r.failed ? 'FAILED' : cell(r.rps),
      cell(r.ratioToB, 2),
      cell(r.p50Ms, 2),
      cell(r.p99Ms, 2),
      cell(r.p99AddedOverAMs, 2),
      cell(r.peakRssMb, 0),
      cell(r.serverCpuUsPerRequest, 0),
    ]),
  );
}

async function main() {
  const values = parseOptions(
    {
      duration: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '2' },
      connections: { type: 'string', default: '1,50' },
      only: { type: 'string', default: Object.keys(TARGETS).join(',') },
      warmup: { type: 'string' },
      'start-warmup': { type: 'string' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      baseline: { type: 'string' },
      'baseline-node-args': { type: 'string' },
    },
    USAGE,
  );
  const duration = Number(values.duration);
  const only = list(values.only, false);
  if (values.baseline !== undefined)
    addBaselineTargets(values.baseline, values['baseline-node-args']?.split(' ').filter(Boolean));
  // Each baseline target runs right after its own, so that both see the same machine.
  const ids = only.flatMap((id) =>
    values.baseline !== undefined && GATEWAY_TARGETS.includes(id) ? [id, id.toUpperCase()] : [id],
  );
  const unknown = ids.filter((id) => !(id in TARGETS));
  if (!(duration > 0) || unknown.length > 0) {
    console.error(
      `${unknown.length > 0 ? `unknown target ${unknown}` : 'bad --duration'}\n\n${USAGE}`,
    );
    process.exit(2);
  }
  const warmup = Number(values.warmup ?? Math.min(2, Math.max(0.2, duration / 5)));
  const options = {
    duration,
    rounds: Math.max(1, Number(values.rounds)),
    connections: list(values.connections),
    warmup,
    startWarmup: Math.max(warmup, Number(values['start-warmup'] ?? Math.min(6, duration))),
  };
  warnIfBusy();
  const pinned = pinLoadGenerator(!values['no-pin']);
  progress(
    `bench: targets ${ids.join(',')}, ${options.connections.join(' and ')} connections, ${options.duration} s each, ${options.rounds} round(s); ` +
      (pinned ? 'load generator on CPU 0, servers on CPU 1' : 'no CPU pinning'),
  );

  const stack = await startBenchStack();
  const measurements = [];
  const failures = {};
  try {
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? ids : [...ids].reverse();
      progress(`round ${round + 1}/${options.rounds}: ${order.join(' ')}`);
      for (const id of order) {
        if (failures[id]) continue;
        try {
          await measureTarget(stack, id, { ...options, round }, measurements);
        } catch (error) {
          failures[id] = error.message;
          progress(`  ${id} FAILED: ${error.message}`);
        }
      }
    }
  } finally {
    await stack.close();
  }

  const rows = summarize(ids, options.connections, measurements, failures);
  const gatewayNodeArgs = imageNodeArgs(ROOT);
  console.log(
    `\nnode ${process.version}, ${environment(pinned).cpus} CPUs, ${pinned ? 'load on CPU 0, servers on CPU 1' : 'unpinned'}; ` +
      `${options.duration} s per measurement, median of ${options.rounds} round(s); 1 KB responses, keep-alive`,
  );
  console.log(
    `gateway node options (its image's ENTRYPOINT): ${gatewayNodeArgs.join(' ') || 'none'}; ` +
      `environment (its image's ENV): ${imageEnvWords(ROOT)}`,
  );
  printSummary(rows);
  for (const r of rows.filter((r) => r.non2xx + r.errors > 0))
    console.log(
      `warning: (${r.target}) at ${r.connections} conns: ${r.non2xx} non-2xx, ${r.errors} errors/timeouts`,
    );
  for (const [id, message] of Object.entries(failures)) console.log(`FAILED (${id}): ${message}`);

  await writeReport(values.out, 'latest', {
    benchmark: 'request path (npm run bench)',
    pinned,
    options,
    gatewayNodeArgs,
    gatewayEnv: imageEnv(ROOT),
    targets: rows,
    measurements,
  });
  if (Object.keys(failures).length > 0) process.exitCode = 1;
}

await main();
