import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, test } from '@jest/globals';

/**
 * The node options the gateway runs with (a smaller young generation: lower peak RSS) live in
 * the image's ENTRYPOINT; the demo (`npm start`) and the bench must run it the same way, or
 * what the bench measures is not what is deployed.
 */
function imageNodeArgs(): string[] {
  const script = `import('./bench/lib/launch.mjs').then((m) => console.log(JSON.stringify(m.imageNodeArgs('.'))))`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's ESM flags
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }));
}

test('npm start and the bench run node with the options of the image', () => {
  const options = imageNodeArgs();
  expect(options).toContain('--max-semi-space-size=8');
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } })
    .scripts.start;
  expect(start).toContain(`node ${options.join(' ')} dist/main.js serve --demo`);
});

test('the options are ones this node accepts and applies', () => {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const newSpace = execFileSync(
    process.execPath,
    [
      ...imageNodeArgs(),
      '-e',
      `const a = []; for (let i = 0; i < 2e6; i++) a.push({ i });
       console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)`,
    ],
    { env, encoding: 'utf8' },
  );
  // Two semi-spaces of at most 8 MB (V8's default is 16 MB each on 64-bit).
  expect(Number(newSpace)).toBeLessThanOrEqual(16 * 1024 * 1024);
});

test('with the options of the image, the gateway frees the buffers a large transfer leaves', () => {
  // A 64 MB download and a 64 MB upload through undici (the gateway's forwarder) against a
  // loopback server in the same process, with the gateway's buffer collection
  // (src/proxy/buffer-collection.ts) and without it: the peak of memory held by Buffers.
  const script = `
    import { createServer } from 'node:http';
    import { Readable } from 'node:stream';
    import { Pool } from 'undici';
    import { startBufferCollection, youngCollectorOf } from './dist/proxy/buffer-collection.js';
    const MB = 1024 * 1024;
    const block = Buffer.alloc(64 * 1024, 120);
    const server = createServer((req, res) => {
      if (req.method === 'POST') return req.resume().on('end', () => res.end('ok'));
      let sent = 0;
      const more = () => {
        while (sent < 64 * MB) {
          sent += block.length;
          if (!res.write(block)) return res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const pool = new Pool('http://127.0.0.1:' + server.address().port);
    async function peakOf(direction) {
      let peak = 0;
      const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().arrayBuffers); }, 5);
      if (direction === 'download') {
        const { body } = await pool.request({ path: '/', method: 'GET' });
        for await (const chunk of body) void chunk;
      } else {
        let sent = 0;
        const source = new Readable({ read() {
          if (sent >= 64 * MB) return this.push(null);
          sent += 16 * 1024;
          this.push(Buffer.alloc(16 * 1024));
        } });
        await (await pool.request({ path: '/', method: 'POST', body: source })).body.text();
      }
      clearInterval(sampler);
      return Math.round(peak / MB);
    }
    const peaks = {};
    for (const on of [true, false]) {
      const collection = startBufferCollection({ collectYoung: on ? youngCollectorOf(globalThis) : undefined });
      for (const direction of ['download', 'upload']) {
        peaks[direction + (on ? ' collected' : ' left to V8')] = await peakOf(direction);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      peaks[on ? 'collected active' : 'left to V8 active'] = collection.active;
      if (on) peaks['collections'] = collection.collections();
      collection.stop();
    }
    await pool.close();
    server.close();
    console.log(JSON.stringify(peaks));`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const peaks = JSON.parse(
    execFileSync(process.execPath, [...imageNodeArgs(), '--input-type=module', '-e', script], {
      env,
      encoding: 'utf8',
      timeout: 60_000, // a synchronous child that hangs would otherwise hold jest forever
    }),
  ) as Record<string, number | boolean>;
  expect(peaks['collected active']).toBe(true);
  expect(peaks['left to V8 active']).toBe(false);
  // Both ends of the transfer are in this process, so both leave Buffers (the gateway's own
  // share is half). Measured, download + upload: 37-42 MB at peak with the collection (20-29
  // collections, at most one per 25 ms), 74-82 MB without.
  expect(peaks['collections']).toBeGreaterThanOrEqual(8);
  const total = (kind: string) =>
    (peaks[`download ${kind}`] as number) + (peaks[`upload ${kind}`] as number);
  expect(total('left to V8')).toBeGreaterThanOrEqual(1.4 * total('collected'));
});
