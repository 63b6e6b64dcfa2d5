// How the product runs the gateway: the node options of the container image's ENTRYPOINT
// (`ENTRYPOINT ["node", ...options, "dist/main.js"]` in the build's Dockerfile). The bench
// measures the gateway as it is deployed, so each build (this checkout, or --baseline's) runs
// with its own image's options, and an old build without any runs without.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The node options before dist/main.js in DIR/Dockerfile's ENTRYPOINT ([] if none). */
export function imageNodeArgs(dir) {
  const file = join(dir, 'Dockerfile');
  if (!existsSync(file)) return [];
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT '));
  if (line === undefined) return [];
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length));
  const main = argv.indexOf('dist/main.js');
  if (argv[0] !== 'node' || main === -1)
    throw new Error(`${file}: ENTRYPOINT is not ["node", ...options, "dist/main.js"]: ${line}`);
  return argv.slice(1, main);
}
