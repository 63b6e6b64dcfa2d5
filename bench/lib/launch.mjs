// How the product runs the gateway: the node options of the container image's ENTRYPOINT
// (`ENTRYPOINT ["node", ...options, "dist/main.js"]` in the build's Dockerfile) and the
// environment its runtime stage sets (`ENV NAME=value`). The bench measures the gateway as it
// is deployed, so each build (this checkout, or --baseline's) runs with its own image's options
// and environment, and an old build without any runs without.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function dockerfileLines(dir) {
  const file = join(dir, 'Dockerfile');
  return existsSync(file) ? { file, lines: readFileSync(file, 'utf8').split('\n') } : undefined;
}

/** The node options before dist/main.js in DIR/Dockerfile's ENTRYPOINT ([] if none). */
export function imageNodeArgs(dir) {
  const dockerfile = dockerfileLines(dir);
  if (dockerfile === undefined) return [];
  const { file, lines } = dockerfile;
  const line = lines.find((l) => l.startsWith('ENTRYPOINT '));
  if (line === undefined) return [];
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length));
  const main = argv.indexOf('dist/main.js');
  if (argv[0] !== 'node' || main === -1)
    throw new Error(`${file}: ENTRYPOINT is not ["node", ...options, "dist/main.js"]: ${line}`);
  return argv.slice(1, main);
}

/**
 * The variables that DIR/Dockerfile's last stage (the runtime image) sets with `ENV NAME=value`
 * lines ({} if none). Only that plain form: anything else fails, rather than being misread.
 */
export function imageEnv(dir) {
  const dockerfile = dockerfileLines(dir);
  if (dockerfile === undefined) return {};
  const { file, lines } = dockerfile;
  const runtime = lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')));
  const env = {};
  for (const line of runtime.filter((l) => l.startsWith('ENV '))) {
    for (const pair of line.slice('ENV '.length).trim().split(/\s+/)) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=([^"'\\$]*)$/.exec(pair);
      if (match === null) throw new Error(`${file}: not an ENV NAME=value line: ${line}`);
      env[match[1]] = match[2];
    }
  }
  return env;
}

/** imageEnv(dir) as `NAME=value` words, for a report's header ('none' if empty). */
export function imageEnvWords(dir) {
  const words = Object.entries(imageEnv(dir)).map(([name, value]) => `${name}=${value}`);
  return words.length === 0 ? 'none' : words.join(' ');
}
