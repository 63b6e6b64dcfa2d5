// What the benchmark scripts and their server children agree on.

/** The upstream's answer to every benchmark request: 1 KB of text, compared byte for byte. */
export const BODY_BYTES = 1024;

export function upstreamBody() {
  const line = 'ztna-gateway benchmark upstream body 0123456789abcdefghijklmnopqrstuvwxyz\n';
  return line.repeat(Math.ceil(BODY_BYTES / line.length)).slice(0, BODY_BYTES);
}

/** The person who signs in at the embedded IdP (groups and email match the bench policies). */
export const BENCH_USER = {
  sub: 'bench-user-0001',
  username: 'bench',
  password: 'bench-password',
  email: 'bench.user@corp.example',
  name: 'Bench User',
  groups: ['engineering', 'everyone'],
};

/** Tells the parent that this server child listens; the child exits when the parent goes. */
export function announceReady(details) {
  process.stdout.write(`${JSON.stringify({ ready: true, ...details })}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

/** The JSON argument a server child was started with. */
export function childArgument() {
  return JSON.parse(process.argv[2] ?? '{}');
}
