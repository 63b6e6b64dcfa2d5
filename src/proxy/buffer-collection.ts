import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';

/**
 * Streamed bodies pass through the gateway as Buffers whose bytes live outside the JS heap
 * (socket reads, the HTTP parser's copies), and each is garbage once written on. V8 collects
 * its young generation when the JS heap fills, but a large transfer allocates little on the
 * heap: during a 64 MB upload or download its finished Buffers piled up to 25–35 MB before
 * V8's external-memory limit started a collection (`npm run bench:memory`). A young
 * collection is what frees young Buffers, so once the bodies forwarded since the last
 * collection (V8's own or ours) reach a limit, the gateway asks for one. Ordinary traffic
 * never reaches it: its heap allocation brings a young collection every ~100 ms. Nor does it
 * ask more often than every 25 ms, however fast bodies move: a young collection pauses every
 * other request too (0.2 ms when nearly all is garbage, up to 3 ms with live requests).
 *
 * The bytes are counted where undici reports every body chunk it sends upstream or receives
 * from it (its documented diagnostics channels): per chunk, undici builds one small message
 * and calls one function that adds to a number; nothing runs while no body moves. A first
 * version polled `process.memoryUsage()` every 25 ms instead: a read of /proc that took 1.7%
 * of the gateway's time under load (`--cpu-prof`, bench (g)) and woke an idle gateway 40
 * times a second. WebSocket frames are not counted.
 *
 * A client cannot make collections cheaper to cause than the bytes that cause them: 2 MB must
 * really pass, and moving 2 MB costs the gateway 10-15 ms of CPU against 0.2-3 ms for the
 * collection (a 64 MB transfer took less gateway CPU with the collection than without it).
 *
 * V8 lends out its collector only to a process started with `--expose-gc` (the image's
 * ENTRYPOINT and `npm start` are); without it there is nothing to ask and nothing runs.
 */

/** Body bytes forwarded between young collections; each leaves about twice that in Buffers. */
export const LIMIT_BYTES = 2 * 1024 * 1024;
/** The shortest time between a collection (V8's or ours) and one the gateway asks for. */
export const MIN_INTERVAL_MS = 25;

/** undici's channels for a body chunk sent upstream and one received (a `{ chunk }` each). */
export const BODY_CHUNK_CHANNELS = [
  'undici:request:bodyChunkSent',
  'undici:request:bodyChunkReceived',
] as const;

type CollectYoung = () => void;

export interface BufferCollectionOptions {
  /** Runs a young-generation collection; undefined when V8 offers none. */
  readonly collectYoung: CollectYoung | undefined;
  readonly limitBytes?: number;
  readonly minIntervalMs?: number;
}

/**
 * What the count decides: whether to collect now. Kept apart from its wiring to be tested.
 * `now` is in milliseconds on the clock of `performance.now()` (GC entries' `startTime`); it
 * is read only once the limit is reached, not for every chunk.
 */
export function createByteCount(limitBytes: number, minIntervalMs: number, now: () => number) {
  let passed = 0;
  let lastCollectedAt = Number.NEGATIVE_INFINITY;
  return {
    /**
     * True when the bytes since the last collection reach the limit and that collection is
     * `minIntervalMs` old; the count then restarts.
     */
    shouldCollect(bytes: number): boolean {
      passed += bytes;
      if (passed < limitBytes) return false;
      const at = now();
      if (at - lastCollectedAt < minIntervalMs) return false;
      passed = 0;
      lastCollectedAt = at;
      return true;
    },
    /** A collection (V8's own, or ours reported late) started at `at`: what was counted is freed. */
    collected(at: number): void {
      passed = 0;
      lastCollectedAt = Math.max(lastCollectedAt, at);
    },
  };
}

/** The young collection of a process started with `--expose-gc`, else undefined. */
export function youngCollectorOf(global: typeof globalThis): CollectYoung | undefined {
  const gc = (global as { gc?: unknown }).gc;
  if (typeof gc !== 'function') return undefined;
  return () => (gc as (options: { type: 'minor' }) => void)({ type: 'minor' });
}

/** A body chunk's size as undici publishes it (a Buffer; a string for a string body). */
function chunkBytes(message: unknown): number {
  const chunk = (message as { chunk?: unknown } | undefined)?.chunk;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  return ArrayBuffer.isView(chunk) ? chunk.byteLength : 0;
}

/** Collections that free young Buffers: young ones and full ones (not incremental marking steps). */
export function freesYoungBuffers(entry: PerformanceEntry): boolean {
  const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
  return (
    kind === constants.NODE_PERFORMANCE_GC_MINOR || kind === constants.NODE_PERFORMANCE_GC_MAJOR
  );
}

export interface BufferCollection {
  /** Whether it runs (the process was started with `--expose-gc`). */
  readonly active: boolean;
  /** Young collections asked for so far. */
  collections(): number;
  stop(): void;
}

/** Counts forwarded body bytes and asks for a young collection each time they reach the limit. */
export function startBufferCollection(options: BufferCollectionOptions): BufferCollection {
  const collectYoung = options.collectYoung;
  if (collectYoung === undefined)
    return { active: false, collections: () => 0, stop: () => undefined };
  const count = createByteCount(
    options.limitBytes ?? LIMIT_BYTES,
    options.minIntervalMs ?? MIN_INTERVAL_MS,
    () => performance.now(),
  );
  let collections = 0;
  // Safe to call again (the gateway's close after a failed collector): both steps are.
  const stop = (): void => {
    for (const name of BODY_CHUNK_CHANNELS) unsubscribe(name, onChunk);
    observer.disconnect();
  };
  const onChunk = (message: unknown): void => {
    if (!count.shouldCollect(chunkBytes(message))) return;
    collections++;
    try {
      collectYoung();
    } catch {
      // An error here would be thrown into undici's request as an uncaught exception: a
      // collector that fails is not asked again, and transfers hold more memory instead.
      stop();
    }
  };
  // Told of every collection, ours included, a few ticks after it.
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if (freesYoungBuffers(entry)) count.collected(entry.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  for (const name of BODY_CHUNK_CHANNELS) subscribe(name, onChunk);
  return { active: true, collections: () => collections, stop };
}
