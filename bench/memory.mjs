// Memory benchmark (issue 11): RSS with 0 / 10,000 / 100,000 sessions in the memory session
// store, and the gateway's RSS during a streamed upload and download through a public route.
// Run: npm run bench:memory [-- --sessions 0,10000,100000 --transfer-mb 64 --out FILE]
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser } from './lib/browser.mjs';
import { imageEnv, imageEnvWords, imageNodeArgs } from './lib/launch.mjs';
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

const USAGE = `node bench/memory.mjs [--sessions 0,10000,100000] [--transfer-mb 64] [--out FILE] [--no-pin]
  --sessions LIST    session counts for the memory store (default 0,10000,100000)
  --transfer-mb N    size of the streamed upload and download (default 64)
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

async function main() {
  const values = parseOptions(
    {
      sessions: { type: 'string', default: '0,10000,100000' },
      'transfer-mb': { type: 'string', default: '64' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
    },
    USAGE,
  );
  const counts = list(values.sessions);
  const transferMb = Number(values['transfer-mb']);
  warnIfBusy();
  const pinned = pinLoadGenerator(!values['no-pin']);

  progress('memory store sessions:');
  const sessions = await sessionMemory(counts);
  progress(`streamed transfers through a public route (${transferMb} MB):`);
  const transfers = await transferMemory(transferMb);

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
  await writeReport(values.out, 'memory', {
    benchmark: 'memory (npm run bench:memory)',
    pinned,
    sessions,
    gatewayIdleRssMb: transfers.idleRssMb,
    transfers: transfers.rows,
  });
}

await main();
