// Record-step benchmark (issue 6: counting must not measurably slow the request path): the
// cost per request of SPEC §2 step 6, metrics (counter + histogram + denial/posture counters)
// and the audit line, as the gateway runs it (pino, asynchronous, to /dev/null here).
// Run: npm run bench:record   (builds first; uses dist/)
import { pino } from 'pino';
import { performance } from 'node:perf_hooks';
import { createLoggers } from '../dist/audit/loggers.js';
import { createRecorder } from '../dist/audit/record.js';
import { createMetrics } from '../dist/metrics/registry.js';
import { createRouteMeters } from '../dist/metrics/route-meters.js';

const N = 200_000;
const ROUTES = Array.from({ length: 50 }, (_, i) => ({
  name: `route-${i}`,
  mode: 'enforce',
  access: { usesPosture: true },
}));

function contextFor(i) {
  const deny = i % 10 === 0;
  return {
    requestId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    startedAt: performance.now(),
    peerIp: '10.1.2.3',
    clientIp: '10.1.2.3',
    scheme: 'https',
    host: { host: 'wiki.corp.example', authority: 'wiki.corp.example' },
    target: { path: '/pages/42', query: '', segments: ['pages', '42'] },
    route: ROUTES[i % ROUTES.length],
    identity: { sub: 'alice', email: 'alice@corp.example', groups: ['engineering', 'sre'] },
    auth: 'session',
    posture: { source: 'assertion', facts: { deviceId: 'laptop-7' } },
    decision: deny
      ? { effect: 'deny', reason: 'deny:posture.disk_encrypted' }
      : { effect: 'allow', reason: 'allow:rule[1]' },
    outcome: deny ? 'deny' : 'allow',
  };
}

function run(label, record) {
  const req = { method: 'GET', headers: {} };
  const res = {};
  const contexts = Array.from({ length: 1000 }, (_, i) => contextFor(i));
  for (let i = 0; i < 20_000; i++) record(req, res, contexts[i % 1000], 200); // warm up
  const samples = [];
  for (let batch = 0; batch < 20; batch++) {
    const start = performance.now();
    for (let i = 0; i < N / 20; i++) record(req, res, contexts[i % 1000], i % 10 === 0 ? 403 : 200);
    samples.push(((performance.now() - start) * 1e6) / (N / 20));
  }
  samples.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(34)} median ${samples[10].toFixed(0).padStart(5)} ns/request   p90 ${samples[18].toFixed(0).padStart(5)} ns`,
  );
}

const devNull = pino.destination({ dest: '/dev/null', sync: false });
await new Promise((resolve) => devNull.once('ready', resolve));
const silent = { write() {} };

/** A recorder as the gateway builds it: its own registry and per-route metric children. */
function recorderWith(logger) {
  const metrics = createMetrics();
  return createRecorder(logger, metrics, createRouteMeters(metrics));
}

const metricsOnly = recorderWith(silent);
const full = recorderWith(createLoggers('info', devNull).audit);

console.log(`record step, ${N} requests (10% denials), 50 routes`);
run('metrics only (audit logger silent)', metricsOnly);
run('metrics + audit line (async destination)', full);
devNull.flushSync();
