import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { createBatchedStdout } from './stdout-batch.js';

/** Keys that must never be printed, wherever they appear in a log object (defence in depth). */
const REDACT = [
  '*.authorization',
  '*.cookie',
  '*.set-cookie',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code_verifier',
  '*.password',
];

/** Writes one audit line (SPEC §11): `level`, `time` and `type`, then the fields as given. */
export interface AuditWriter {
  write(fields: Readonly<Record<string, unknown>>): void;
}

export interface Loggers {
  /** Operational log: startup, reloads, upstream errors. Lines carry `type: "app"`. */
  readonly log: Logger;
  /** Audit log: one line per decision, written whatever the log level (`type: "audit"`). */
  readonly audit: AuditWriter;
  /** Writes out anything buffered; call before exit. */
  flush(): void;
}

/**
 * Creates the two loggers on one JSON-lines destination (batched stdout by default, see
 * stdout-batch.ts). The request path never blocks on a log line. `flush()` writes out what is
 * buffered; the gateway calls it before exit.
 */
export function createLoggers(level: string, destination?: DestinationStream): Loggers {
  const dest = destination ?? createBatchedStdout();
  const shared = {
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // Redaction only where arbitrary objects (errors, config) are logged: wildcard redaction
  // costs ~20 µs a line, and audit lines are built field by field from values that are never
  // secrets (the audit tests grep them for every test token).
  const operational = pino(
    { ...shared, level, redact: { paths: REDACT, censor: '[redacted]' } },
    dest,
  );
  return {
    log: operational.child({ type: 'app' }),
    audit: createAuditWriter(dest),
    flush: () => {
      const flushSync = (dest as { flushSync?: () => void }).flushSync;
      if (typeof flushSync === 'function') {
        try {
          flushSync.call(dest);
        } catch {
          // Not yet open (nothing written): nothing to flush.
        }
      }
    },
  };
}

/**
 * Audit lines in the format pino writes (`{"level":"info","time":"…","type":"audit",…}`), on
 * the same destination, whatever the log level. One native JSON.stringify per line: pino's
 * key-by-key serialization was 9% of a public request's CPU under load (npm run bench with
 * --cpu-prof). Nothing is redacted here because nothing needs to be: audit/record.ts builds
 * the fields one by one from values that are never secrets.
 */
function createAuditWriter(dest: DestinationStream): AuditWriter {
  // Under load several lines share a millisecond: its ISO form is made once (1.4 µs each).
  let lastMs = Number.NaN;
  let lastIso = '';
  return {
    write(fields) {
      const ms = Date.now();
      if (ms !== lastMs) {
        lastMs = ms;
        lastIso = new Date(ms).toISOString();
      }
      const json = JSON.stringify(fields);
      const rest = json.length > 2 ? `,${json.slice(1)}` : '}';
      dest.write(`{"level":"info","time":"${lastIso}","type":"audit"${rest}\n`);
    },
  };
}
