// Login benchmark (issue 11): complete OIDC sign-ins per second through the gateway against
// the embedded IdP (oidc-provider), each by a new browser: app -> /.ztna/login -> IdP form ->
// /.ztna/callback -> the app's page. Sequential, then with concurrent clients. Report only.
// Run: npm run bench:login [-- --logins 100 --concurrency 1,8 --out FILE]
import { performance } from 'node:perf_hooks';
import { signIn } from './lib/browser.mjs';
import { cpuMsOf, pinLoadGenerator, sampleRss } from './lib/procs.mjs';
import { BENCH_USER } from './lib/protocol.mjs';
import {
  cell,
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

const USAGE = `node bench/login.mjs [--logins N] [--concurrency 1,8] [--out FILE] [--no-pin]
  --logins N          sign-ins per concurrency level (default 100)
  --concurrency LIST  concurrent clients; 1 = sequential (default 1,8)
  --out FILE          JSON report (default bench/results/login.json)`;

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];

/** `logins` sign-ins by `concurrency` clients at once; each a fresh browser. */
async function signIns(url, logins, concurrency) {
  const durations = [];
  let requests = 0;
  let next = 0;
  const started = performance.now();
  const client = async () => {
    while (next < logins) {
      next += 1;
      const t0 = performance.now();
      const { browser } = await signIn(url, BENCH_USER);
      durations.push(performance.now() - t0);
      requests += browser.requests;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - started) / 1000;
  durations.sort((a, b) => a - b);
  return {
    concurrency,
    logins: durations.length,
    seconds,
    loginsPerSecond: durations.length / seconds,
    p50Ms: median(durations),
    p99Ms: percentile(durations, 0.99),
    requestsPerLogin: requests / durations.length,
  };
}

async function main() {
  const values = parseOptions(
    {
      logins: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '1,8' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
    },
    USAGE,
  );
  const logins = Number(values.logins);
  warnIfBusy();
  const pinned = pinLoadGenerator(!values['no-pin']);
  const stack = await startBenchStack();
  const rows = [];
  try {
    const gateway = await stack.startGateway();
    try {
      const url = stack.gatewayUrl('app', '/');
      await signIns(url, Math.min(5, logins), 1); // warm up
      for (const concurrency of list(values.concurrency)) {
        const sampler = sampleRss(gateway.pid);
        const cpuBefore = [cpuMsOf(gateway.pid), cpuMsOf(stack.idp.pid)];
        const result = await signIns(url, logins, concurrency);
        const [gatewayCpu, idpCpu] = [gateway.pid, stack.idp.pid].map(
          (pid, i) => (cpuMsOf(pid) - cpuBefore[i]) / result.logins,
        );
        rows.push({
          ...result,
          gatewayCpuMsPerLogin: gatewayCpu,
          idpCpuMsPerLogin: idpCpu,
          gatewayPeakRssMb: mb(sampler.stop().peak),
        });
        progress(`  ${concurrency} client(s): ${cell(result.loginsPerSecond, 1)} logins/s`);
      }
    } finally {
      await gateway.stop();
    }
  } finally {
    await stack.close();
  }
  console.log(
    `\nnode ${process.version}; gateway and embedded IdP on ${pinned ? 'CPU 1, clients on CPU 0' : 'any CPU'}; each login by a new browser`,
  );
  printTable(
    [
      'clients',
      'logins',
      'logins/s',
      'p50 ms',
      'p99 ms',
      'requests/login',
      'gateway CPU ms/login',
      'IdP CPU ms/login',
      'gateway peak RSS MB',
    ],
    rows.map((r) => [
      String(r.concurrency),
      String(r.logins),
      cell(r.loginsPerSecond, 1),
      cell(r.p50Ms, 1),
      cell(r.p99Ms, 1),
      cell(r.requestsPerLogin, 0),
      cell(r.gatewayCpuMsPerLogin, 1),
      cell(r.idpCpuMsPerLogin, 1),
      cell(r.gatewayPeakRssMb, 0),
    ]),
  );
  await writeReport(values.out, 'login', {
    benchmark: 'login (npm run bench:login)',
    pinned,
    results: rows,
  });
}

await main();
