// Policy benchmark (issue 3): match + evaluate time per request with 10, 1,000 and 10,000
// routes. Goal: median under 5 µs at 1,000 routes, cost growing at most logarithmically.
// Run: npm run bench:policy   (builds first; uses dist/, the code that ships)
import { performance } from 'node:perf_hooks';
import { parseRoutes } from '../dist/config/load.js';
import { compileRouteTable } from '../dist/config/route-table.js';
import { decideAccess } from '../dist/policy/route-access.js';
import { canonicalizeTarget } from '../dist/routing/canonicalize.js';

const PATHS = [
  '/',
  '/api',
  '/api/v1',
  '/admin',
  '/reports',
  '/docs',
  '/static',
  '/api/v2',
  '/team/a',
  '/team/b',
];

/** routes.yaml text with `count` routes: ten paths per host, realistic policies. */
function routesYaml(count) {
  const lines = [
    'version: 1',
    'posture_profiles:',
    '  baseline: { managed: true, disk_encrypted: true, min_os_version: { macos: "14.4", windows: "10.0.19045" }, max_age: 15m }',
    'routes:',
  ];
  for (let i = 0; i < count; i++) {
    const host = Math.floor(i / PATHS.length);
    const path = PATHS[i % PATHS.length];
    lines.push(
      `  - name: r${i}`,
      `    host: app${host}.corp.example`,
      `    path: ${path}`,
      `    upstream: http://10.0.${host % 250}.${i % 250}:8080`,
      '    policy:',
      '      allow:',
      `        - groups: [team${host % 50}, sre]`,
      '          posture: baseline',
      '        - email_domains: [corp.example]',
      '          methods: [GET, HEAD]',
      '      deny:',
      '        - ip: [203.0.113.0/24]',
    );
    if (path === '/admin') {
      lines.push(
        '    rules:',
        '      - path: /admin/settings',
        '        methods: [POST]',
        '        policy: { allow: [ { groups: [admins], mfa: true } ] }',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function compile(count) {
  const text = routesYaml(count);
  const started = performance.now();
  const parsed = parseRoutes('bench-routes.yaml', text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues.slice(0, 3)));
  const table = compileRouteTable(parsed.value, text, { mfaAcrValues: [] });
  return { table, compileMs: performance.now() - started };
}

/** Deterministic pseudo-random numbers, so runs compare. */
function random(seed) {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function requests(hostCount, n) {
  const rnd = random(42);
  const tails = ['', '/users/42', '/settings', '/q4/summary.pdf', '/a/b/c/d'];
  const out = [];
  for (let i = 0; i < n; i++) {
    const known = rnd() < 0.9;
    const host = known
      ? `app${Math.floor(rnd() * hostCount)}.corp.example`
      : `unknown${i}.corp.example`;
    const raw =
      `${PATHS[Math.floor(rnd() * PATHS.length)]}${tails[Math.floor(rnd() * tails.length)]}?q=${i}`.replace(
        '//',
        '/',
      );
    const method = rnd() < 0.8 ? 'GET' : 'POST';
    const team = Math.floor(rnd() * 60);
    out.push({
      host,
      raw,
      method,
      identity: {
        sub: `u${i}`,
        email: `u${i}@corp.example`,
        groups: [`team${team}`],
        claims: { amr: ['pwd'] },
      },
      posture: {
        managed: true,
        diskEncrypted: true,
        os: 'macos',
        osVersion: '14.5',
        observedAt: Date.now(),
      },
      ip: `10.${i % 250}.0.1`,
    });
  }
  return out;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Times `work(sample)` over the samples in batches; returns per-request ns: median and p99 of batch means. */
function measure(samples, work, rounds) {
  globalThis.gc?.(); // start each measurement from a clean heap (npm run bench:policy exposes gc)
  const batch = 64;
  const perRequest = [];
  for (let round = 0; round < rounds; round++) {
    for (let start = 0; start + batch <= samples.length; start += batch) {
      const t0 = process.hrtime.bigint();
      for (let i = start; i < start + batch; i++) work(samples[i]);
      perRequest.push(Number(process.hrtime.bigint() - t0) / batch);
    }
  }
  perRequest.sort((a, b) => a - b);
  return { median: percentile(perRequest, 0.5), p99: percentile(perRequest, 0.99) };
}

const now = Date.now();
const results = [];
for (const count of (process.env.BENCH_ROUTES ?? '10,1000,10000').split(',').map(Number)) {
  const { table, compileMs } = compile(count);
  const samples = requests(Math.ceil(count / PATHS.length), 16384).map((s) => {
    const target = canonicalizeTarget(s.raw);
    return { ...s, target: target.ok ? target.target : undefined };
  });
  let sink = 0;
  const matchAndEvaluate = (s) => {
    const route = table.index.match(s.host, s.target.segments);
    if (route === undefined) return;
    const decision = decideAccess(
      route.access,
      {
        identity: s.identity,
        request: { method: s.method, path: s.target.path, segments: s.target.segments, ip: s.ip },
        posture: s.posture,
      },
      now,
    );
    if (decision.effect === 'allow') sink++;
  };
  const canonicalize = (s) => {
    if (canonicalizeTarget(s.raw).ok) sink++;
  };
  measure(samples, matchAndEvaluate, 5); // warm up the JIT
  measure(samples, canonicalize, 5);
  const decide = measure(samples, matchAndEvaluate, 20);
  const canon = measure(samples, canonicalize, 20);
  const allowed = samples.filter((s) => {
    const route = table.index.match(s.host, s.target.segments);
    return (
      route &&
      decideAccess(
        route.access,
        {
          identity: s.identity,
          request: { method: s.method, path: s.target.path, segments: s.target.segments, ip: s.ip },
          posture: s.posture,
        },
        now,
      ).effect === 'allow'
    );
  }).length;
  results.push({ count, compileMs, decide, canon, allowedShare: allowed / samples.length, sink });
}

const us = (ns) => `${(ns / 1000).toFixed(2)} µs`;
console.log(
  `node ${process.version}, ${process.arch}; per request, median and p99 of 64-request batch means`,
);
console.log('routes  compile      match+evaluate median  p99       canonicalize median  allowed');
for (const r of results) {
  console.log(
    `${String(r.count).padEnd(7)} ${`${r.compileMs.toFixed(0)} ms`.padEnd(12)} ${us(r.decide.median).padEnd(22)} ${us(r.decide.p99).padEnd(9)} ${us(r.canon.median).padEnd(20)} ${(r.allowedShare * 100).toFixed(0)}%`,
  );
}
if (results.length < 3) process.exit(0);
const growth = results[2].decide.median / results[0].decide.median;
console.log(`growth 10 → 10,000 routes (1000x): ${growth.toFixed(2)}x the time per request`);
const at1000 = results[1].decide.median;
console.log(
  `goal (median < 5 µs at 1,000 routes): ${at1000 < 5000 ? 'met' : 'MISSED'} (${us(at1000)})`,
);
