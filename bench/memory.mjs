// Memory benchmark (issue 11): RSS with 0 / 10,000 / 100,000 sessions in the memory session
// store, the gateway's RSS during a streamed upload and download through a public route, and
// its RSS over a minute of load on the full check.
// Run: npm run bench:memory [-- --sessions 0,10000,100000 --transfer-mb 64 --sustain 60 --out FILE]
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser } from './lib/browser.mjs';
import { imageEnv, imageEnvWords, imageNodeArgs } from './lib/launch.mjs';
import { runLoad } from './lib/load.mjs';
import { cpuMsOf, memoryOf, pinLoadGenerator, ROOT, sampleRss, startNode } from './lib/procs.mjs';
import {
  cell,
  list,
  mb,
  parseOptions,
  printTable,
  progress,
  warnIfBusy,
  writeReport,
} from './lib/report.mjs';
import { startBenchStack } from './lib/stack.mjs';
import { TARGETS, verifyTarget } from './lib/targets.mjs';

const USAGE = `node bench/memory.mjs [--sessions 0,10000,100000] [--transfer-mb 64] [--sustain 60] [--out FILE] [--no-pin]
  --sessions LIST    session counts for the memory store (default 0,10000,100000)
  --transfer-mb N    size of the streamed upload and download (default 64)
  --sustain S        seconds of 50-connection load on the full check (target g; default 60, 0: none)
  --out FILE         JSON report (default bench/results/memory.json)`;

/**
 * RSS of a store process per session count (one fresh process each), run with the node
 * options and environment the gateway runs with (its image's: the young generation's size and
 * glibc's trim threshold are part of RSS).
 */
async function sessionMemory(counts) {
  const rows = [];
  const nodeArgs = [...new Set([...imageNodeArgs(ROOT), '--expose-gc'])];
  for (const sessions of counts) {
    const child = startNode('bench/servers/session-store.mjs', [JSON.stringify({ sessions })], {
      nodeArgs,
      env: imageEnv(ROOT),
      readyLine: true,
      name: `session store (${sessions})`,
    });
    try {
      const result = await child.ready;
      rows.push({ ...result, requested: sessions });
      progress(`  ${sessions} sessions: RSS ${cell(mb(result.rss), 1)} MB`);
    } finally {
      await child.stop();
    }
  }
  const base = rows.find((r) => r.requested === 0) ?? rows[0];
  return rows.map((r) => ({
    sessions: r.sessions,
    rssMb: mb(r.rss),
    heapUsedMb: mb(r.heapUsed),
    increaseMb: mb(r.rss - base.rss),
    bytesPerSession:
      r.sessions > base.sessions ? (r.rss - base.rss) / (r.sessions - base.sessions) : NaN,
    sessionJsonBytes: r.sessionJsonBytes,
    fillMs: r.fillMs,
  }));
}

/** Streams `bytes` bytes through the gateway (download: from the upstream; upload: to it). */
function transfer(url, direction, bytes) {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        method: direction === 'upload' ? 'POST' : 'GET',
        path: direction === 'upload' ? '/upload' : `/download?bytes=${bytes}`,
        headers: {
          host: target.host,
          ...(direction === 'upload' && {
            'content-type': 'application/octet-stream',
            'content-length': bytes,
          }),
        },
        agent: false,
      },
      (res) => {
        let received = 0;
        let text = '';
        res.on('data', (chunk) => {
          received += chunk.length;
          if (direction === 'upload') text += chunk;
        });
        res.on('end', () => {
          const moved = direction === 'upload' ? JSON.parse(text || '{}').bytes : received;
          if (res.statusCode !== 200 || moved !== bytes)
            reject(new Error(`${direction}: HTTP ${res.statusCode}, ${moved} of ${bytes} bytes`));
          else resolve();
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (direction !== 'upload') return void req.end();
    const chunk = Buffer.alloc(64 * 1024, 'u');
    let left = bytes;
    Readable.from(
      (function* () {
        while (left > 0) {
          const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= piece.length;
          yield piece;
        }
      })(),
    ).pipe(req);
  });
}

/**
 * The gateway's RSS before and during a streamed transfer (sampled every 50 ms), for each
 * direction in a fresh gateway process, after 50 small requests and a 1 MB transfer the same
 * way (so that first-use costs do not count as the transfer's).
 */
async function transferMemory(transferMb) {
  const stack = await startBenchStack();
  try {
    const url = stack.gatewayUrl('public');
    const rows = [];
    let idleRss;
    for (const direction of ['download', 'upload']) {
      const gateway = await stack.startGateway();
      try {
        const browser = new Browser();
        for (let i = 0; i < 50; i++) {
          const reply = await browser.request(url);
          if (reply.status !== 200)
            throw new Error(`public route answered ${reply.status}: ${reply.text.slice(0, 300)}`);
        }
        // Read after a second: until V8's first idle collection, start-up garbage adds 10-35 MB.
        if (idleRss === undefined) {
          await sleep(1000);
          idleRss = memoryOf(gateway.pid).rss;
        }
        await transfer(url, direction, 1024 * 1024);
        await sleep(500);
        const baseline = memoryOf(gateway.pid).rss;
        const sampler = sampleRss(gateway.pid, 50);
        const started = performance.now();
        const cpuBefore = cpuMsOf(gateway.pid);
        await transfer(url, direction, transferMb * 1024 * 1024);
        const gatewayCpuMs = cpuMsOf(gateway.pid) - cpuBefore;
        const seconds = (performance.now() - started) / 1000;
        const { peak, samples } = sampler.stop();
        rows.push({
          direction,
          megabytes: transferMb,
          baselineMb: mb(baseline),
          peakMb: mb(peak),
          increaseMb: mb(peak - baseline),
          seconds,
          mbPerSecond: transferMb / seconds,
          gatewayCpuMs,
          samples,
        });
        progress(`  ${direction} ${transferMb} MB: +${cell(mb(peak - baseline), 1)} MB RSS`);
      } finally {
        await gateway.stop();
      }
    }
    return { idleRssMb: mb(idleRss), rows };
  } finally {
    await stack.close();
  }
}

/**
 * The gateway's RSS over `seconds` of load on the full check (target g: session, posture,
 * assertion) at `connections` connections: at the start, its peak (sampled every 50 ms) and
 * when it was reached, at the end, the highest of each 10 s, and the process's own high-water
 * mark (VmHWM, start-up included). `npm run bench` measures
 * rounds of a few seconds; this shows whether RSS keeps climbing after them. It did on Node 22
 * with V8's own old-generation sizing: its first full collection under this load came after
 * 34 s, at 64 MB of heap (the gateway at 150 MB RSS), and freed pages stayed pooled.
 */
async function sustainedMemory(seconds, connections) {
  const stack = await startBenchStack();
  try {
    const target = await TARGETS.g.start(stack, {});
    try {
      await verifyTarget('g', target);
      // V8 optimizes undici's HTTP parser (WebAssembly) after the first requests: on Node 20
      // that takes about 30 MB for a moment. That is start-up, not load; it shows in the
      // process's high-water mark, reported apart.
      await sleep(1000);
      const { pid } = target.server;
      const startMb = mb(memoryOf(pid).rss);
      const sampler = sampleRss(pid, 50);
      const { port, headers } = target;
      const load = await runLoad({ port, headers, connections, duration: seconds });
      const { peak, peakAtMs, series } = sampler.stop();
      const tens = [];
      for (const { atMs, rss } of series) {
        const slot = Math.min(Math.floor(atMs / 10_000), Math.ceil(seconds / 10) - 1);
        tens[slot] = Math.max(tens[slot] ?? 0, rss);
      }
      const result = {
        target: 'g',
        connections,
        seconds,
        rps: load.rps,
        non2xx: load.non2xx,
        startMb,
        peakMb: mb(peak),
        peakAtSecond: peakAtMs / 1000,
        endMb: mb(memoryOf(pid)?.rss ?? 0),
        processHighWaterMb: mb(memoryOf(pid)?.hwm ?? 0),
        highestPer10sMb: tens.map(mb),
      };
      progress(
        `  ${seconds} s at ${connections} connections: RSS ${cell(startMb, 1)} → peak ${cell(result.peakMb, 1)} MB`,
      );
      return result;
    } finally {
      await target.server.stop();
    }
  } finally {
    await stack.close();
  }
}

async function main() {
  const values = parseOptions(
    {
      sessions: { type: 'string', default: '0,10000,100000' },
      'transfer-mb': { type: 'string', default: '64' },
      sustain: { type: 'string', default: '60' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
    },
    USAGE,
  );
  const counts = list(values.sessions);
  const transferMb = Number(values['transfer-mb']);
  const sustainSeconds = Number(values.sustain);
  warnIfBusy();
  const pinned = pinLoadGenerator(!values['no-pin']);

  progress('memory store sessions:');
  const sessions = await sessionMemory(counts);
  progress(`streamed transfers through a public route (${transferMb} MB):`);
  const transfers = await transferMemory(transferMb);
  let sustained;
  if (sustainSeconds > 0) {
    progress(`sustained load on the full check (g), ${sustainSeconds} s:`);
    sustained = await sustainedMemory(sustainSeconds, 50);
  }

  console.log(
    `\nnode ${process.version}; session store in a process of its own (after GC; node ${imageNodeArgs(ROOT).join(' ')}; ${imageEnvWords(ROOT)}), the gateway idle at ${cell(transfers.idleRssMb, 1)} MB RSS`,
  );
  printTable(
    [
      'sessions',
      'JSON bytes each',
      'RSS MB',
      'heap MB',
      '+RSS MB',
      'bytes/session',
      'gateway idle + increase MB',
    ],
    sessions.map((s) => [
      cell(s.sessions),
      s.sessions === 0 ? '-' : cell(s.sessionJsonBytes),
      cell(s.rssMb, 1),
      cell(s.heapUsedMb, 1),
      cell(s.increaseMb, 1),
      cell(s.bytesPerSession),
      cell(transfers.idleRssMb + s.increaseMb, 1),
    ]),
  );
  console.log('');
  printTable(
    ['transfer', 'MB', 'baseline RSS MB', 'peak RSS MB', 'increase MB', 'MB/s', 'gateway CPU ms'],
    transfers.rows.map((t) => [
      t.direction,
      cell(t.megabytes),
      cell(t.baselineMb, 1),
      cell(t.peakMb, 1),
      cell(t.increaseMb, 1),
      cell(t.mbPerSecond, 0),
      cell(t.gatewayCpuMs, 0),
    ]),
  );
  if (sustained !== undefined) {
    console.log('');
    printTable(
      [
        'sustained load',
        'seconds',
        'req/s',
        'start RSS MB',
        'peak RSS MB',
        'peak at s',
        'end RSS MB',
        'process high-water MB',
      ],
      [
        [
          `${sustained.target}, ${sustained.connections} conns`,
          cell(sustained.seconds),
          cell(sustained.rps, 0),
          cell(sustained.startMb, 1),
          cell(sustained.peakMb, 1),
          cell(sustained.peakAtSecond, 1),
          cell(sustained.endMb, 1),
          cell(sustained.processHighWaterMb, 1),
        ],
      ],
    );
    console.log(
      `highest RSS of each 10 s (MB): ${sustained.highestPer10sMb.map((v) => cell(v, 0)).join(' ')}`,
    );
  }
  await writeReport(values.out, 'memory', {
    benchmark: 'memory (npm run bench:memory)',
    pinned,
    sessions,
    gatewayIdleRssMb: transfers.idleRssMb,
    transfers: transfers.rows,
    ...(sustained !== undefined && { sustained }),
  });
}

await main();
