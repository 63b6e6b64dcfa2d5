import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from '@jest/globals';
import { createGrowthWatch, startBufferCollection, youngCollectorOf } from './buffer-collection.js';

const MB = 1024 * 1024;

describe('the growth watch', () => {
  test('asks for a collection once buffers grow by the limit over their lowest reading', () => {
    const watch = createGrowthWatch(4 * MB);
    const decisions = [10, 8, 11, 11.9, 12, 13].map((mb) => watch.shouldCollect(mb * MB));
    // Lowest is 8 MB: 11.9 is under 8 + 4, 12 reaches it.
    expect(decisions).toEqual([false, false, false, false, true, false]);
  });

  test('counts again from the first reading after a collection', () => {
    const watch = createGrowthWatch(4 * MB);
    for (const mb of [0, 4]) watch.shouldCollect(mb * MB);
    // The collection frees in the background: 5 MB right after it is the new starting point.
    const after = [5, 8.5, 9, 2, 5.9, 6].map((mb) => watch.shouldCollect(mb * MB));
    expect(after).toEqual([false, false, true, false, false, true]);
  });

  test('buffers that stay in use (no growth) never cause a collection', () => {
    const watch = createGrowthWatch(4 * MB);
    const decisions = Array.from({ length: 100 }, (_, i) =>
      watch.shouldCollect((50 + (i % 3)) * MB),
    );
    expect(decisions.some(Boolean)).toBe(false);
  });
});

describe('buffer collection', () => {
  test('does nothing when node offers no collector (started without --expose-gc)', () => {
    expect(youngCollectorOf({} as typeof globalThis)).toBeUndefined();
    const collection = startBufferCollection({ collectYoung: undefined });
    expect(collection.active).toBe(false);
    collection.stop();
  });

  test('asks node for a young collection, and only a young one', () => {
    const calls: unknown[] = [];
    const collect = youngCollectorOf({ gc: (options: unknown) => calls.push(options) } as never);
    collect?.();
    expect(calls).toEqual([{ type: 'minor' }]);
  });

  test('reads buffer memory on its timer and collects when it has grown', async () => {
    const readings = [1, 2, 3, 9, 9, 9].map((mb) => mb * MB);
    let collected = 0;
    const collection = startBufferCollection({
      arrayBufferBytes: () => readings.shift() ?? 9 * MB,
      collectYoung: () => collected++,
      growthLimitBytes: 4 * MB,
      sampleMs: 1,
    });
    while (readings.length > 0) await sleep(5);
    collection.stop();
    expect(collection.active).toBe(true);
    expect(collected).toBe(1);
    expect(collection.collections()).toBe(1);
  });
});
