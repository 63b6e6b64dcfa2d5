// Side-by-side A/B of two gateway builds: this checkout's and a baseline's, under the same load
// at the same time, on the same server CPU, in fresh processes every round.
// Run: npm run bench:ab -- --baseline DIR [--only g] [--rounds 6] [--duration 5] [--out FILE]
// See bench/README.md ("npm run bench:ab") for why this and not `npm run bench --baseline`.
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { runLoad } from './lib/load.mjs';
import { cpuMsOf, pinLoadGenerator } from './lib/procs.mjs';
import {
  cell,
  list,
  median,
  parseOptions,
  printTable,
  progress,
  warnIfBusy,
  writeReport,
} from './lib/report.mjs';
import { startBenchStack } from './lib/stack.mjs';
import { GATEWAY_TARGETS, TARGETS, verifyTarget } from './lib/targets.mjs';

const USAGE = `node bench/ab.mjs --baseline DIR [--only e,f,g,h] [--rounds N] [--duration S]
                  [--connections N] [--warmup S] [--out FILE] [--no-pin]
  --baseline DIR      the other build: a checkout of another commit, built (DIR/dist/main.js)
  --only LIST         gateway targets to compare, of e-h (default g)
  --rounds N          rounds, each with two fresh gateways (default 6)
  --duration S        seconds of measured load per round (default 5)
  --connections N     keep-alive connections to each build (default 25)
  --warmup S          seconds of unmeasured load first (default duration/5, 0.2-2)
  --out FILE          JSON report (default bench/results/ab.json)
  --no-pin            do not pin the load generator and the servers to separate CPUs`;

const BUILDS = ['this', 'baseline'];

/**
 * One round of target `id`: both builds started (which one is instance 0, and starts first,
 * alternates by round), checked, warmed up and measured at once. Each gets `connections` of its
 * own; the busier CPU is shared between them, so their req/s ratio is their cost ratio.
 */
async function measureRound(stack, id, mains, options, round) {
  const order = round % 2 === 0 ? BUILDS : [...BUILDS].reverse();
  const started = {};
  try {
    for (const [instance, build] of order.entries())
      started[build] = await TARGETS[id].start(stack, { main: mains[build], instance });
    for (const build of BUILDS) await verifyTarget(id, started[build]);
    const loads = (duration) =>
      Promise.all(
        BUILDS.map((build) =>
          runLoad({
            port: started[build].port,
            headers: started[build].headers,
            connections: options.connections,
            duration,
          }),
        ),
      );
    await loads(options.warmup);
    const cpuBefore = BUILDS.map((build) => cpuMsOf(started[build].server.pid));
    const results = await loads(options.duration);
    const measured = Object.fromEntries(
      BUILDS.map((build, i) => {
        const cpuMs = cpuMsOf(started[build].server.pid) - cpuBefore[i];
        const { rps, requests, non2xx, errors } = results[i];
        return [build, { rps, cpuUsPerRequest: (cpuMs * 1000) / requests, non2xx, errors }];
      }),
    );
    const refused = BUILDS.reduce((n, b) => n + measured[b].non2xx + measured[b].errors, 0);
    if (refused > 0) throw new Error(`${refused} non-2xx answers or errors under load`);
    return { target: id, round, ...measured, ratio: measured.this.rps / measured.baseline.rps };
  } finally {
    await Promise.all(Object.values(started).map((target) => target.server.stop()));
  }
}

/** What is wrong with the command line, or undefined. */
function problemWith(values, ids, baselineMain) {
  if (baselineMain === undefined) return '--baseline is required';
  if (!existsSync(baselineMain))
    return `--baseline: ${baselineMain} does not exist (build it first)`;
  if (ids.some((id) => !GATEWAY_TARGETS.includes(id)))
    return `--only takes gateway targets (${GATEWAY_TARGETS.join(',')})`;
  if (!(Number(values.duration) > 0)) return 'bad --duration';
  if (!(Number(values.rounds) >= 1) || !(Number(values.connections) >= 1))
    return 'bad --rounds or --connections';
  return undefined;
}

async function main() {
  const values = parseOptions(
    {
      baseline: { type: 'string' },
      only: { type: 'string', default: 'g' },
      rounds: { type: 'string', default: '6' },
      duration: { type: 'string', default: '5' },
      connections: { type: 'string', default: '25' },
      warmup: { type: 'string' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
    },
    USAGE,
  );
  const ids = list(values.only, false);
  const duration = Number(values.duration);
  const baselineMain = values.baseline && join(resolve(values.baseline), 'dist', 'main.js');
  const problem = problemWith(values, ids, baselineMain);
  if (problem !== undefined) {
    console.error(`${problem}\n\n${USAGE}`);
    process.exit(2);
  }
  const options = {
    duration,
    rounds: Math.floor(Number(values.rounds)),
    connections: Math.floor(Number(values.connections)),
    warmup: Number(values.warmup ?? Math.min(2, Math.max(0.2, duration / 5))),
  };
  const mains = { this: 'dist/main.js', baseline: baselineMain };
  warnIfBusy();
  const pinned = pinLoadGenerator(!values['no-pin']);
  progress(
    `bench:ab: ${ids.join(',')}, this build and ${values.baseline} side by side, ` +
      `${options.connections} connections each, ${options.duration} s, ${options.rounds} round(s)`,
  );

  const stack = await startBenchStack({ instances: 2 });
  const rounds = [];
  try {
    for (const id of ids)
      for (let round = 0; round < options.rounds; round++) {
        const result = await measureRound(stack, id, mains, options, round);
        rounds.push(result);
        progress(
          `  ${id} round ${round + 1}: this ${cell(result.this.rps)} req/s, baseline ` +
            `${cell(result.baseline.rps)} req/s, this/baseline ${cell(result.ratio, 3)}`,
        );
      }
  } finally {
    await stack.close();
  }

  const summary = ids.map((id) => {
    const of = rounds.filter((r) => r.target === id);
    const ratios = of.map((r) => r.ratio);
    return {
      target: id,
      name: TARGETS[id].name,
      ratio: median(ratios),
      lowest: Math.min(...ratios),
      highest: Math.max(...ratios),
      thisRps: median(of.map((r) => r.this.rps)),
      baselineRps: median(of.map((r) => r.baseline.rps)),
      thisCpuUsPerRequest: median(of.map((r) => r.this.cpuUsPerRequest)),
      baselineCpuUsPerRequest: median(of.map((r) => r.baseline.cpuUsPerRequest)),
      rounds: of.length,
    };
  });
  console.log(
    `\nthis build against ${values.baseline}, side by side; medians of ${options.rounds} round(s), ` +
      `${options.duration} s each, ${options.connections} connections to each build`,
  );
  printTable(
    ['target', 'this/baseline', 'lowest', 'highest', 'this req/s', 'baseline req/s'],
    summary.map((s) => [
      `(${s.target}) ${s.name}`,
      cell(s.ratio, 3),
      cell(s.lowest, 3),
      cell(s.highest, 3),
      cell(s.thisRps),
      cell(s.baselineRps),
    ]),
  );
  await writeReport(values.out, 'ab', {
    benchmark: 'side-by-side A/B (npm run bench:ab)',
    pinned,
    baseline: resolve(values.baseline),
    options,
    targets: summary,
    rounds,
  });
}

await main();
