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
  // 64 MB of 64 KiB Buffers made and dropped at about 200 MB/s, as a stream through the
  // gateway leaves them, with next to no other allocation: the peak of buffer memory with
  // the gateway's buffer collection (src/proxy/buffer-collection.ts) and without it.
  const script = `
    import { setTimeout as sleep } from 'node:timers/promises';
    import { startBufferCollection, youngCollectorOf } from './dist/proxy/buffer-collection.js';
    const peaks = {};
    for (const on of [true, false]) {
      const collection = startBufferCollection({ collectYoung: on ? youngCollectorOf(globalThis) : undefined });
      let peak = 0;
      for (let step = 0; step < 64; step++) {
        for (let i = 0; i < 16; i++) Buffer.alloc(64 * 1024);
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        await sleep(5);
      }
      collection.stop();
      peaks[on ? 'collected' : 'left to V8'] = { mb: Math.round(peak / 1048576), active: collection.active };
      await sleep(200); // the young collections of the first run finish freeing
    }
    console.log(JSON.stringify(peaks));`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const peaks = JSON.parse(
    execFileSync(process.execPath, [...imageNodeArgs(), '--input-type=module', '-e', script], {
      env,
      encoding: 'utf8',
    }),
  ) as Record<string, { mb: number; active: boolean }>;
  expect(peaks['collected']!.active).toBe(true);
  // The bench's goal for a 64 MB transfer is under 20 MB more RSS; without the collection
  // V8 let these grow to 32 MB.
  expect(peaks['collected']!.mb).toBeLessThan(16);
  expect(peaks['left to V8']!.mb).toBeGreaterThan(peaks['collected']!.mb + 8);
});
