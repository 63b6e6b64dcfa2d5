/** Where a command writes; injected so tests run commands in-process and read their output. */
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

/** Exit codes (SPEC §3): 0 ok, 1 validation or decision failure, 2 usage. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A usage error: the command line itself is wrong. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
