/**
 * Streamed bodies pass through the gateway as Buffers whose bytes live outside the JS heap
 * (socket reads, the HTTP parser's copies), and each is garbage once written on. V8 collects
 * its young generation when the JS heap fills, but a large transfer allocates little on the
 * heap: during a 64 MB upload or download its finished Buffers piled up to 25–35 MB before
 * V8's external-memory limit started a collection (`npm run bench:memory`). A young
 * collection is what frees young Buffers, so when off-heap buffer memory has grown by a limit
 * since it was last at its lowest, the gateway asks for one. Ordinary traffic never reaches
 * the limit: its own heap allocation brings a young collection every ~100 ms.
 *
 * V8 lends out its collector only to a process started with `--expose-gc` (the image's
 * ENTRYPOINT and `npm start` are); without it there is nothing to ask and nothing runs.
 */

/** How often buffer memory is read (a read costs ~17 µs), and how much it may grow. */
export const SAMPLE_MS = 25;
export const GROWTH_LIMIT_BYTES = 4 * 1024 * 1024;

type CollectYoung = () => void;

export interface BufferCollectionOptions {
  /** Bytes held by ArrayBuffers (Buffers) now. */
  readonly arrayBufferBytes?: () => number;
  /** Runs a young-generation collection; undefined when V8 offers none. */
  readonly collectYoung: CollectYoung | undefined;
  readonly growthLimitBytes?: number;
  readonly sampleMs?: number;
}

/** What one sample decides: whether to collect now. Kept apart from the timer to be tested. */
export function createGrowthWatch(limitBytes: number) {
  let lowest = Infinity;
  return {
    /** True when `bytes` is `limitBytes` or more above the lowest reading since the last collection. */
    shouldCollect(bytes: number): boolean {
      if (bytes < lowest) {
        lowest = bytes;
        return false;
      }
      if (bytes - lowest < limitBytes) return false;
      // The collection frees in the background: the next reading starts the count again.
      lowest = Infinity;
      return true;
    },
  };
}

/** The young collection of a process started with `--expose-gc`, else undefined. */
export function youngCollectorOf(global: typeof globalThis): CollectYoung | undefined {
  const gc = (global as { gc?: unknown }).gc;
  if (typeof gc !== 'function') return undefined;
  return () => (gc as (options: { type: 'minor' }) => void)({ type: 'minor' });
}

export interface BufferCollection {
  /** Whether it runs (the process was started with `--expose-gc`). */
  readonly active: boolean;
  /** Young collections asked for so far. */
  collections(): number;
  stop(): void;
}

/** Watches buffer memory and asks for a young collection when it grows by the limit. */
export function startBufferCollection(options: BufferCollectionOptions): BufferCollection {
  const collectYoung = options.collectYoung;
  if (collectYoung === undefined)
    return { active: false, collections: () => 0, stop: () => undefined };
  const read = options.arrayBufferBytes ?? (() => process.memoryUsage().arrayBuffers);
  const watch = createGrowthWatch(options.growthLimitBytes ?? GROWTH_LIMIT_BYTES);
  let collections = 0;
  const timer = setInterval(() => {
    if (!watch.shouldCollect(read())) return;
    collections++;
    collectYoung();
  }, options.sampleMs ?? SAMPLE_MS).unref();
  return {
    active: true,
    collections: () => collections,
    stop: () => clearInterval(timer),
  };
}
