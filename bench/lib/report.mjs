// Options, statistics and output shared by the benchmark scripts.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './procs.mjs';

/** A comma-separated list option: "1,50" -> [1, 50] (numbers when `numbers`). */
export function list(text, numbers = true) {
  const items = String(text)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!numbers) return items;
  const values = items.map(Number);
  if (values.some((v) => !Number.isFinite(v) || v < 0))
    throw new Error(`expected a list of numbers, got "${text}"`);
  return values;
}

/**
 * Parses `process.argv` with `options` (node:util parseArgs: { name: { type, default } });
 * `--help` prints `usage` and exits, an unknown option exits 2 with the usage.
 */
export function parseOptions(options, usage) {
  try {
    const { values } = parseArgs({
      options: { ...options, help: { type: 'boolean', default: false } },
      strict: true,
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    return values;
  } catch (error) {
    console.error(`${error.message}\n\n${usage}`);
    process.exit(2);
  }
}

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const mb = (bytes) => bytes / (1024 * 1024);

/** Formats a number for a table cell: fixed decimals, '-' for missing values. */
export function cell(value, decimals = 0, suffix = '') {
  if (value === undefined || value === null || !Number.isFinite(value)) return '-';
  return `${value.toLocaleString('en-US', {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  })}${suffix}`;
}

/** Prints rows (arrays of strings) under `header` as an aligned text table. */
export function printTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])));
  console.log(line(header).join('  '));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row).join('  '));
}

/** The 1-minute load average when the script started, before its own processes ran. */
const LOAD_AT_START = loadavg()[0];

/** Where the machine and the run stand: goes at the top of every JSON report. */
export function environment(pinned) {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    pinned,
    loadAverageAtStart: LOAD_AT_START,
  };
}

/**
 * Says so when other programs keep the CPUs busy (1-minute load average): pinning cannot keep
 * them off the servers' CPU, and every number of such a run is noisy.
 */
export function warnIfBusy() {
  if (LOAD_AT_START > 0.7)
    progress(
      `note: load average ${LOAD_AT_START.toFixed(1)} before the run: other programs compete for the CPUs, expect noisy numbers`,
    );
}

/**
 * Writes a bench's JSON report to `file`, by default bench/results/`name`.json: what ran, when,
 * on what machine (`environment`), then `data`. Prints its path last on stdout.
 */
export async function writeReport(file, name, { benchmark, pinned, ...data }) {
  const path = resolve(file ?? resolve(ROOT, `bench/results/${name}.json`));
  await mkdir(dirname(path), { recursive: true });
  const report = {
    benchmark,
    generatedAt: new Date().toISOString(),
    environment: environment(pinned),
    ...data,
  };
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`JSON: ${path}`);
}

/** Progress notes go to stderr, so that stdout holds only the results. */
export function progress(message) {
  process.stderr.write(`${message}\n`);
}
