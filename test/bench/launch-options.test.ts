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
