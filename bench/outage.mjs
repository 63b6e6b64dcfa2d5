// Store-outage benchmark (issue 13): a real redis-server is killed under load and started
// again. Verifies that the gateway fails closed (authenticated routes answer 503 with a page,
// never the upstream), that /readyz says so, that public routes serve on, and that everything
// recovers without a restart; counts what was refused and how long recovery took.
// Run: npm run bench:outage [-- --before 3 --down 5 --after 2 --connections 4 --out FILE]
import { setTimeout as sleep } from 'node:timers/promises';
import { signIn } from './lib/browser.mjs';
import { startLoad } from './lib/load.mjs';
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

const USAGE = `node bench/outage.mjs [--before S] [--down S] [--after S] [--connections N]
                      [--recover-timeout S] [--out FILE] [--no-pin]
  --before S           seconds of load before Redis is killed (default 3)
  --down S             seconds Redis stays down (default 5)
  --after S            seconds of load once everything has recovered (default 2)
  --connections N      keep-alive connections per route, authenticated and public (default 4)
  --recover-timeout S  give up waiting for recovery after S seconds (default 30)
  --out FILE           JSON report (default bench/results/outage.json)
  --no-pin             do not pin the load generator and the servers to separate CPUs`;

/** Width of the timeline's buckets in the JSON report. */
const BUCKET_MS = 250;
/** A request slower than this (or timed out) counts as hung. */
const HUNG_MS = 3000;
const PHASES = ['before', 'down', 'recovering', 'after'];

/** Counts answers by phase, route and status ('error' for a failed request, 'timeout'). */
function createTally(startedAt) {
  const byPhase = Object.fromEntries(
    PHASES.map((p) => [p, { auth: new Map(), public: new Map() }]),
  );
  const timeline = [];
  const maxMs = { auth: 0, public: 0 };
  const bump = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
  return {
    maxMs,
    record(phase, route, key, at, ms) {
      bump(byPhase[phase][route], key);
      if (ms !== undefined && ms > maxMs[route]) maxMs[route] = ms;
      const index = Math.floor((at - startedAt) / BUCKET_MS);
      timeline[index] ??= { t: (index * BUCKET_MS) / 1000, auth: {}, public: {} };
      const bucket = timeline[index][route];
      bucket[key] = (bucket[key] ?? 0) + 1;
    },
    counts(phase, route) {
      return Object.fromEntries([...byPhase[phase][route]].sort());
    },
    timeline: () => timeline.filter(Boolean),
  };
}

const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
const ok = (counts) =>
  Object.entries(counts)
    .filter(([k]) => /^2\d\d$/.test(k))
    .reduce((n, [, v]) => n + v, 0);

/** Polls /readyz every 250 ms; `statuses(from, to)` counts the answers in that window. */
function pollReadyz(url) {
  const answers = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const sent = Date.now();
      let status;
      try {
        const reply = await fetch(url, { signal: AbortSignal.timeout(HUNG_MS) });
        await reply.arrayBuffer();
        status = String(reply.status);
      } catch (error) {
        status = error.name === 'TimeoutError' ? 'timeout' : 'error';
      }
      answers.push({ at: Date.now(), status, ms: Date.now() - sent });
      await sleep(250);
    }
  })();
  return {
    answers,
    async stop() {
      running = false;
      await loop;
    },
    first: (from, status) => answers.find((a) => a.at >= from && a.status === status),
    statuses(from, to) {
      const counts = {};
      for (const a of answers)
        if (a.at >= from && a.at <= to) counts[a.status] = (counts[a.status] ?? 0) + 1;
      return counts;
    },
  };
}

/** What a signed-in browser is shown during the outage: a 503 page, not the upstream. */
async function probePage(browser, url) {
  const reply = await browser.request(url, { headers: { accept: 'text/html' } });
  return {
    status: reply.status,
    contentType: reply.headers['content-type'] ?? '',
    isPage: /text\/html/.test(reply.headers['content-type'] ?? '') && /<html/i.test(reply.text),
    isUpstream: reply.text === upstreamBody(),
    bytes: reply.body.length,
  };
}

async function measureOutage(stack, redis, options) {
  const appUrl = stack.gatewayUrl('app');
  const publicUrl = stack.gatewayUrl('public');
  const { browser } = await signIn(appUrl, BENCH_USER);
  const headers = {
    auth: { host: new URL(appUrl).host, cookie: browser.cookieHeader(appUrl), accept: 'text/html' },
    public: { host: new URL(publicUrl).host, accept: 'text/html' },
  };
  for (const [route, url] of [
    ['auth', appUrl],
    ['public', publicUrl],
  ]) {
    const reply = await browser.request(url);
    if (reply.status !== 200 || reply.text !== upstreamBody())
      throw new Error(`${route} route: expected 200 with the upstream's body, got ${reply.status}`);
  }

  const startedAt = Date.now();
  const tally = createTally(startedAt);
  let phase = 'before';
  const times = { start: startedAt };
  /** Authenticated 2xx answers to requests sent after Redis was gone, before it was started again. */
  let openDoor = 0;
  let firstAuthOkAfterBack;
  let hung = 0;
  const loads = ['auth', 'public'].map((route) =>
    startLoad({
      port: stack.ports.gateway,
      headers: headers[route],
      connections: options.connections,
      timeout: HUNG_MS / 1000,
      onResponse(status, ms, at) {
        tally.record(phase, route, String(status), at, ms);
        if (ms > HUNG_MS) hung += 1;
        const good = status >= 200 && status < 300;
        if (route !== 'auth' || !good) return;
        if (phase === 'down' && at - ms >= times.killed) openDoor += 1;
        if (phase === 'recovering' && firstAuthOkAfterBack === undefined) firstAuthOkAfterBack = at;
      },
      onError(error, at) {
        const timedOut = /timed out/.test(error.message);
        if (timedOut) hung += 1;
        tally.record(phase, route, timedOut ? 'timeout' : 'error', at);
      },
    }),
  );
  const readyz = pollReadyz(stack.adminUrl('/readyz'));
  let page;
  try {
    await sleep(options.before * 1000);
    progress(`killing redis-server (SIGKILL) under load`);
    await redis.kill();
    times.killed = Date.now();
    phase = 'down';
    await sleep(Math.min(1000, (options.down * 1000) / 2));
    page = await probePage(browser, appUrl);
    await sleep(Math.max(0, times.killed + options.down * 1000 - Date.now()));
    progress(`starting redis-server again`);
    times.restart = Date.now();
    await redis.start();
    times.redisBack = Date.now();
    phase = 'recovering';
    const deadline = times.redisBack + options.recoverTimeout * 1000;
    while (
      Date.now() < deadline &&
      (firstAuthOkAfterBack === undefined || readyz.first(times.redisBack, '200') === undefined)
    )
      await sleep(50);
    times.recovered = Date.now();
    phase = 'after';
    await sleep(options.after * 1000);
  } finally {
    await readyz.stop();
    await Promise.all(loads.map((l) => l.stop()));
  }
  times.end = Date.now();

  const readyzBack = readyz.first(times.redisBack, '200');
  const readyzDown = readyz.first(times.killed, '503');
  const phases = Object.fromEntries(
    PHASES.map((p) => [p, { auth: tally.counts(p, 'auth'), public: tally.counts(p, 'public') }]),
  );
  const outage = phases.down;
  const secondsFromBack = (at) => (at === undefined ? null : (at - times.redisBack) / 1000);
  return {
    options,
    seconds: {
      before: (times.killed - times.start) / 1000,
      down: (times.redisBack - times.killed) / 1000,
      recovering: (times.recovered - times.redisBack) / 1000,
      after: (times.end - times.recovered) / 1000,
    },
    phases,
    outage: {
      authRefused: total(outage.auth) - ok(outage.auth),
      authOpenDoor: openDoor,
      authOk: ok(outage.auth),
      publicRequests: total(outage.public),
      publicFailures: total(outage.public) - ok(outage.public),
      readyz: readyz.statuses(times.killed, times.redisBack),
      readyz503AfterSeconds:
        readyzDown === undefined ? null : (readyzDown.at - times.killed) / 1000,
      page,
    },
    recovery: {
      authOkAfterSeconds: secondsFromBack(firstAuthOkAfterBack),
      readyzOkAfterSeconds: secondsFromBack(readyzBack?.at),
      afterRecovery: phases.after,
    },
    maxLatencyMs: { ...tally.maxMs, readyz: Math.max(0, ...readyz.answers.map((a) => a.ms)) },
    hungRequests: hung,
    timeline: tally.timeline(),
  };
}

/** The claims of the issue, each true or the reason it is not. */
function verdicts(result) {
  const { outage, recovery } = result;
  const failures = [];
  if (outage.authOpenDoor > 0)
    failures.push(
      `OPEN DOOR: ${outage.authOpenDoor} authenticated request(s) answered 2xx while Redis was down`,
    );
  if (outage.page?.status !== 503 || !outage.page.isPage || outage.page.isUpstream)
    failures.push(
      `a signed-in browser was not shown a 503 page during the outage: ${JSON.stringify(outage.page)}`,
    );
  if (outage.publicFailures > 0)
    failures.push(`the public route failed ${outage.publicFailures} time(s) during the outage`);
  if (Object.keys(outage.readyz).some((s) => s !== '503'))
    failures.push(
      `/readyz during the outage: ${JSON.stringify(outage.readyz)} (expected 503 only)`,
    );
  if (recovery.authOkAfterSeconds === null || recovery.readyzOkAfterSeconds === null)
    failures.push(`no recovery within ${result.options.recoverTimeout} s of Redis answering again`);
  const afterAuth = recovery.afterRecovery.auth;
  if (total(afterAuth) !== ok(afterAuth))
    failures.push(`after recovery, authenticated answers were ${JSON.stringify(afterAuth)}`);
  if (result.hungRequests > 0)
    failures.push(`${result.hungRequests} request(s) took over ${HUNG_MS} ms or timed out (hung)`);
  return failures;
}

function printResult(result) {
  const statuses = (counts) =>
    Object.entries(counts)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || '-';
  console.log(
    `\nRedis killed after ${cell(result.seconds.before, 1)} s of load, down ${cell(result.seconds.down, 1)} s, ` +
      `${result.options.connections} connections per route`,
  );
  printTable(
    ['phase', 'seconds', 'authenticated route (status: count)', 'public route (status: count)'],
    PHASES.map((p) => [
      p,
      cell(result.seconds[p], 1),
      statuses(result.phases[p].auth),
      statuses(result.phases[p].public),
    ]),
  );
  const { outage, recovery } = result;
  console.log('');
  printTable(
    ['while Redis was down', 'value'],
    [
      ['authenticated requests refused', cell(outage.authRefused)],
      ['authenticated 2xx (open door, must be 0)', cell(outage.authOpenDoor)],
      [
        'public route requests / failures',
        `${cell(outage.publicRequests)} / ${cell(outage.publicFailures)}`,
      ],
      ['/readyz answers', statuses(outage.readyz)],
      ['/readyz first 503 after kill, s', cell(outage.readyz503AfterSeconds, 2)],
      [
        'signed-in browser shown',
        outage.page
          ? `${outage.page.status} ${outage.page.contentType} (${outage.page.bytes} bytes)`
          : '-',
      ],
      [
        'recovery: first authenticated 200, s after Redis answers',
        cell(recovery.authOkAfterSeconds, 2),
      ],
      [
        'recovery: first /readyz 200, s after Redis answers',
        cell(recovery.readyzOkAfterSeconds, 2),
      ],
      [
        'max latency auth / public / readyz, ms',
        `${cell(result.maxLatencyMs.auth)} / ${cell(result.maxLatencyMs.public)} / ${cell(result.maxLatencyMs.readyz)}`,
      ],
      [`hung requests (> ${HUNG_MS} ms or timed out)`, cell(result.hungRequests)],
    ],
  );
}

async function main() {
  const values = parseOptions(
    {
      before: { type: 'string', default: '3' },
      down: { type: 'string', default: '5' },
      after: { type: 'string', default: '2' },
      connections: { type: 'string', default: '4' },
      'recover-timeout': { type: 'string', default: '30' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
    },
    USAGE,
  );
  const options = {
    before: Number(values.before),
    down: Number(values.down),
    after: Number(values.after),
    connections: Math.max(1, Math.floor(Number(values.connections))),
    recoverTimeout: Number(values['recover-timeout']),
  };
  if (![options.before, options.down, options.after, options.recoverTimeout].every((v) => v > 0)) {
    console.error(`every duration must be a positive number of seconds\n\n${USAGE}`);
    process.exit(2);
  }
  warnIfBusy();
  const pinned = pinLoadGenerator(!values['no-pin']);
  const redis = await startRedis();
  let result;
  try {
    const stack = await startBenchStack({ redisUrl: redis.url });
    try {
      const gateway = await stack.startGateway();
      try {
        result = await measureOutage(stack, redis, options);
      } finally {
        await gateway.stop();
      }
    } finally {
      await stack.close();
    }
  } finally {
    await redis.close();
  }
  printResult(result);
  const failures = verdicts(result);
  for (const failure of failures) console.log(`FAILED: ${failure}`);
  await writeReport(values.out, 'outage', {
    benchmark: 'session store outage (npm run bench:outage)',
    pinned,
    ...result,
    failures,
  });
  if (failures.length > 0) process.exitCode = 1;
}

await main();
