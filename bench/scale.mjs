// Scale-out benchmark (issue 13): two gateway instances sharing sessions in a real Redis, the
// load spread across both, against one instance with the memory store (and one with Redis) at
// the same total connections; and the revocation lag under that load, from each instance's
// ztna_revocation_lag_seconds histogram (source="admin"), while a second person is signed in
// and revoked through the admin API of the first instance again and again.
// Run: npm run bench:scale [-- --duration 10 --connections 50 --out FILE]
import { setTimeout as sleep } from 'node:timers/promises';
import { signIn } from './lib/browser.mjs';
import { LatencyHistogram, runLoad } from './lib/load.mjs';
import { pinLoadGenerator } from './lib/procs.mjs';
import { BENCH_USER, upstreamBody } from './lib/protocol.mjs';
import {
  cell,
  parseOptions,
  printTable,
  progress,
  warnIfBusy,
  writeReport,
} from './lib/report.mjs';
import { startRedis } from './lib/redis.mjs';
import { startBenchStack } from './lib/stack.mjs';

const USAGE = `node bench/scale.mjs [--duration S] [--connections N] [--warmup S]
                     [--revoke-pause MS] [--out FILE] [--no-pin]
  --duration S        seconds of measured load per configuration (default 10)
  --connections N     keep-alive connections in all, spread over the instances (default 50)
  --warmup S          seconds of unmeasured load first (default duration/5, 0.2-2)
  --revoke-pause MS   pause between two sign-in + revoke cycles during the load (default 200)
  --out FILE          JSON report (default bench/results/scale.json)
  --no-pin            do not pin the load generator and the servers to separate CPUs`;

/** The person signed in and revoked again and again during the load (not the load's user). */
const REVOKED_USER = {
  sub: 'bench-revoked-0001',
  username: 'revoke-me',
  password: 'revoke-me-password',
  email: 'revoke.me@corp.example',
  name: 'Revoked Again',
  groups: ['engineering'],
};

/** Every configuration runs the same load and the same sign-in + revoke cycles. */
const CONFIGS = [
  { name: '1 instance, memory store', store: 'memory', instances: 1 },
  { name: '1 instance, Redis store', store: 'redis', instances: 1 },
  { name: '2 instances, shared Redis', store: 'redis', instances: 2 },
];

/** The cumulative buckets of ztna_revocation_lag_seconds{source} in a /metrics text: le -> count. */
function lagBuckets(text, source) {
  const buckets = new Map();
  for (const line of text.split('\n')) {
    const match = /^ztna_revocation_lag_seconds_bucket\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (labels.source !== source) continue;
    buckets.set(labels.le === '+Inf' ? Infinity : Number(labels.le), Number(match[2]));
  }
  return buckets;
}

/**
 * The q-quantile of a cumulative histogram, interpolated within its bucket as Prometheus's
 * histogram_quantile() does; NaN without observations.
 */
function histogramQuantile(q, buckets) {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const count = buckets.get(Infinity) ?? 0;
  if (count === 0) return NaN;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const cumulative = buckets.get(bound);
    if (cumulative >= rank) {
      if (bound === Infinity) return lower; // above the largest finite bound
      return lower + ((bound - lower) * (rank - below)) / Math.max(1, cumulative - below);
    }
    lower = bound;
    below = cumulative;
  }
  return lower;
}

async function scrapeLag(stack, instance) {
  const reply = await fetch(stack.adminUrl('/metrics', instance));
  if (reply.status !== 200) throw new Error(`/metrics of instance ${instance}: ${reply.status}`);
  return lagBuckets(await reply.text(), 'admin');
}

/** after - before, bucket by bucket: the observations made in between. */
function difference(after, before) {
  return new Map([...after].map(([le, n]) => [le, n - (before.get(le) ?? 0)]));
}

/**
 * Until `done()`: signs REVOKED_USER in through instance 0, checks that the session works on the
 * last instance, revokes the user through instance 0's admin API, and checks that the last
 * instance refuses the session at once (the store is shared). Counts what it saw.
 */
async function revokeRepeatedly(stack, instances, pause, done) {
  const last = instances - 1;
  const counts = { cycles: 0, revoked: 0, servedAfterRevoke: 0, notServedBefore: 0 };
  while (!done()) {
    const { browser } = await signIn(stack.gatewayUrl('app', '/', 0), REVOKED_USER);
    const elsewhere = stack.gatewayUrl('app', '/', last);
    if ((await browser.request(elsewhere)).status !== 200) counts.notServedBefore += 1;
    const reply = await fetch(
      stack.adminUrl(`/admin/sessions?user=${encodeURIComponent(REVOKED_USER.sub)}`, 0),
      { method: 'DELETE' },
    );
    if (reply.status !== 200) throw new Error(`DELETE /admin/sessions answered ${reply.status}`);
    counts.revoked += (await reply.json()).revoked;
    if ((await browser.request(elsewhere)).status === 200) counts.servedAfterRevoke += 1;
    counts.cycles += 1;
    await sleep(pause);
  }
  return counts;
}

/** Runs `connections` spread over the instances at once; 2xx latencies in one histogram. */
async function spreadLoad(stack, headers, config, connections, duration, latencies) {
  const share = (i) =>
    Math.floor(connections / config.instances) + (i < connections % config.instances ? 1 : 0);
  const results = await Promise.all(
    Array.from({ length: config.instances }, (_, i) =>
      runLoad({
        port: stack.ports.instances[i].gateway,
        headers,
        connections: share(i),
        duration,
        latencies,
      }),
    ),
  );
  const sum = (key) => results.reduce((n, r) => n + r[key], 0);
  return {
    requests: sum('requests'),
    rps: sum('rps'),
    perInstanceRps: results.map((r) => r.rps),
    p50: latencies.percentile(0.5),
    p99: latencies.percentile(0.99),
    non2xx: sum('non2xx'),
    errors: sum('errors') + sum('timeouts'),
  };
}

async function measureConfig(stack, config, options) {
  const gateways = [];
  try {
    for (let instance = 0; instance < config.instances; instance++)
      gateways.push(await stack.startGateway({ instance, store: config.store }));
    // One sign-in, on the first instance: cookies are per host, not per port, so the same
    // browser is signed in on every instance that shares the store.
    const url = stack.gatewayUrl('app', '/', 0);
    const { browser } = await signIn(url, BENCH_USER);
    const headers = { host: new URL(url).host, cookie: browser.cookieHeader(url) };
    for (let instance = 0; instance < config.instances; instance++) {
      const reply = await browser.request(stack.gatewayUrl('app', '/', instance));
      if (reply.status !== 200 || reply.text !== upstreamBody())
        throw new Error(`${config.name}: instance ${instance} answered ${reply.status}`);
    }
    const { connections, duration, warmup } = options;
    await spreadLoad(stack, headers, config, connections, warmup, new LatencyHistogram());

    const instances = Array.from({ length: config.instances }, (_, i) => i);
    const before = await Promise.all(instances.map((i) => scrapeLag(stack, i)));
    let loadDone = false;
    const revoking = revokeRepeatedly(stack, config.instances, options.revokePause, () => loadDone);
    revoking.catch(() => undefined); // awaited after the load; its failure must not end us first
    const load = await spreadLoad(
      stack,
      headers,
      config,
      connections,
      duration,
      new LatencyHistogram(),
    ).finally(() => (loadDone = true));
    const revocations = await revoking;
    const after = await Promise.all(instances.map((i) => scrapeLag(stack, i)));
    const lag = instances.map((i) => {
      const buckets = difference(after[i], before[i]);
      return {
        instance: i,
        // The instance that revoked observes its own enforcement; the others observe the
        // message on the Redis revocation bus.
        revokedHere: i === 0,
        observations: buckets.get(Infinity) ?? 0,
        p50Ms: histogramQuantile(0.5, buckets) * 1000,
        p99Ms: histogramQuantile(0.99, buckets) * 1000,
        buckets: Object.fromEntries([...buckets].map(([le, n]) => [String(le), n])),
      };
    });
    progress(
      `  ${config.name}: ${cell(load.rps)} req/s, p99 ${cell(load.p99, 2)} ms, ${revocations.cycles} revocations`,
    );
    return {
      config: config.name,
      store: config.store,
      instances: config.instances,
      connections,
      ...load,
      revocations,
      lag,
    };
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
  }
}

function printResults(rows, options) {
  const base = rows[0]?.rps;
  console.log(
    `\n${options.connections} connections in all, ${options.duration} s per configuration; ` +
      `a second user signed in and revoked through instance 0 every ${options.revokePause} ms meanwhile`,
  );
  printTable(
    [
      'configuration',
      'req/s',
      'x (1 memory)',
      'per instance req/s',
      'p50 ms',
      'p99 ms',
      'non-2xx',
      'revocations',
    ],
    rows.map((r) => [
      r.config,
      cell(r.rps),
      cell(r.rps / base, 2),
      r.perInstanceRps.map((v) => cell(v)).join(' + '),
      cell(r.p50, 2),
      cell(r.p99, 2),
      cell(r.non2xx + r.errors),
      String(r.revocations.cycles),
    ]),
  );
  console.log(
    '\nztna_revocation_lag_seconds{source="admin"} under that load (from each /metrics; ' +
      'interpolated within buckets of 1, 5, 10, 25, 50 ms... as histogram_quantile() does: 0.50 means under 1 ms)',
  );
  printTable(
    [
      'configuration',
      'instance',
      'observations',
      'p50 ms',
      'p99 ms',
      'revoked session served after',
    ],
    rows.flatMap((r) =>
      r.lag.map((l) => [
        r.config,
        `${l.instance} (${l.revokedHere ? 'revoked here' : 'via Redis pub/sub'})`,
        cell(l.observations),
        cell(l.p50Ms, 2),
        cell(l.p99Ms, 2),
        l.instance === r.instances - 1 ? cell(r.revocations.servedAfterRevoke) : '',
      ]),
    ),
  );
}

async function main() {
  const values = parseOptions(
    {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      warmup: { type: 'string' },
      'revoke-pause': { type: 'string', default: '200' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
    },
    USAGE,
  );
  const duration = Number(values.duration);
  const options = {
    duration,
    connections: Math.max(2, Math.floor(Number(values.connections))),
    warmup: Number(values.warmup ?? Math.min(2, Math.max(0.2, duration / 5))),
    revokePause: Number(values['revoke-pause']),
  };
  if (!(duration > 0) || !(options.revokePause >= 0)) {
    console.error(`bad --duration or --revoke-pause\n\n${USAGE}`);
    process.exit(2);
  }
  warnIfBusy();
  const pinned = pinLoadGenerator(!values['no-pin']);
  const redis = await startRedis();
  const rows = [];
  try {
    const stack = await startBenchStack({
      instances: 2,
      redisUrl: redis.url,
      users: [REVOKED_USER],
    });
    try {
      for (const config of CONFIGS) rows.push(await measureConfig(stack, config, options));
    } finally {
      await stack.close();
    }
  } finally {
    await redis.close();
  }
  printResults(rows, options);
  const failures = [];
  for (const r of rows) {
    if (r.revocations.servedAfterRevoke > 0)
      failures.push(
        `${r.config}: a revoked session was served ${r.revocations.servedAfterRevoke} time(s)`,
      );
    if (r.revocations.notServedBefore > 0)
      failures.push(
        `${r.config}: a fresh session was refused on the last instance ${r.revocations.notServedBefore} time(s)`,
      );
    if (r.non2xx + r.errors > 0)
      failures.push(`${r.config}: ${r.non2xx} non-2xx answers and ${r.errors} errors under load`);
  }
  for (const failure of failures) console.log(`FAILED: ${failure}`);
  await writeReport(values.out, 'scale', {
    benchmark: 'scale-out with a shared Redis (npm run bench:scale)',
    pinned,
    options,
    results: rows,
    failures,
  });
  if (failures.length > 0) process.exitCode = 1;
}

await main();
