import { channel } from 'node:diagnostics_channel';
import { constants } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from '@jest/globals';
import {
  BODY_CHUNK_CHANNELS,
  createByteCount,
  freesYoungBuffers,
  startBufferCollection,
  youngCollectorOf,
} from './buffer-collection.js';

const MB = 1024 * 1024;

/** A byte count on a clock the test sets: `at(ms).shouldCollect(bytes)`. */
function countWithClock(limitBytes: number, minIntervalMs: number) {
  let clock = 0;
  const count = createByteCount(limitBytes, minIntervalMs, () => clock);
  return {
    count,
    at(ms: number) {
      clock = ms;
      return count;
    },
  };
}

describe('the byte count', () => {
  test('asks for a collection each time the bytes since the last one reach the limit', () => {
    const { at } = countWithClock(2 * MB, 25);
    const decisions = [0.5, 0.5, 0.9, 0.1, 1.9, 0.2].map((mb, i) =>
      at(1000 + 100 * i).shouldCollect(mb * MB),
    );
    // 0.5 + 0.5 + 0.9 = 1.9 is under 2; + 0.1 reaches it; then 1.9 is under, + 0.2 is over.
    expect(decisions).toEqual([false, false, false, true, false, true]);
  });

  test('never asks again within the interval, however fast bytes pass', () => {
    const { at } = countWithClock(2 * MB, 25);
    // 2 MB every 5 ms (400 MB/s): a collection at 0 ms, then none before 25 ms.
    const decisions = [0, 5, 10, 15, 20, 25, 30].map((ms) => at(ms).shouldCollect(2 * MB));
    expect(decisions).toEqual([true, false, false, false, false, true, false]);
  });

  test('a collection V8 made on its own starts the count and the interval again', () => {
    const { count, at } = countWithClock(2 * MB, 25);
    expect(at(100).shouldCollect(1.5 * MB)).toBe(false);
    count.collected(110);
    expect(at(120).shouldCollect(1.5 * MB)).toBe(false);
    expect(at(130).shouldCollect(0.5 * MB)).toBe(false); // 2 MB, but only 20 ms after V8's
    expect(at(135).shouldCollect(0)).toBe(true);
  });

  test('a collection reported late does not move the interval back', () => {
    const { count, at } = countWithClock(2 * MB, 25);
    expect(at(100).shouldCollect(2 * MB)).toBe(true);
    count.collected(90); // an entry from before ours, delivered after it
    expect(at(120).shouldCollect(2 * MB)).toBe(false);
    expect(at(125).shouldCollect(0)).toBe(true);
  });
});

test('only young and full collections restart the count, not incremental marking steps', () => {
  const entry = (kind: number) => ({ detail: { kind } }) as unknown as PerformanceEntry;
  const { NODE_PERFORMANCE_GC_MINOR, NODE_PERFORMANCE_GC_MAJOR } = constants;
  const { NODE_PERFORMANCE_GC_INCREMENTAL, NODE_PERFORMANCE_GC_WEAKCB } = constants;
  expect(freesYoungBuffers(entry(NODE_PERFORMANCE_GC_MINOR))).toBe(true);
  expect(freesYoungBuffers(entry(NODE_PERFORMANCE_GC_MAJOR))).toBe(true);
  expect(freesYoungBuffers(entry(NODE_PERFORMANCE_GC_INCREMENTAL))).toBe(false);
  expect(freesYoungBuffers(entry(NODE_PERFORMANCE_GC_WEAKCB))).toBe(false);
});

/** What undici publishes for a body chunk sent upstream (0) or received from it (1). */
function publishChunk(which: 0 | 1, bytes: number): void {
  channel(BODY_CHUNK_CHANNELS[which]).publish({ request: {}, chunk: Buffer.alloc(bytes) });
}

describe('buffer collection', () => {
  test('does nothing when node offers no collector (started without --expose-gc)', () => {
    expect(youngCollectorOf({} as typeof globalThis)).toBeUndefined();
    const collection = startBufferCollection({ collectYoung: undefined });
    expect(collection.active).toBe(false);
    expect(channel(BODY_CHUNK_CHANNELS[0]).hasSubscribers).toBe(false);
    collection.stop();
  });

  test('asks node for a young collection, and only a young one', () => {
    const calls: unknown[] = [];
    const collect = youngCollectorOf({ gc: (options: unknown) => calls.push(options) } as never);
    collect?.();
    expect(calls).toEqual([{ type: 'minor' }]);
  });

  test('counts the body chunks undici sends and receives, and stops listening when stopped', () => {
    let collected = 0;
    const collection = startBufferCollection({
      collectYoung: () => collected++,
      limitBytes: 64 * 1024,
      minIntervalMs: 0,
    });
    // Uploaded and downloaded bytes add up: 3 x 16 KiB + 16 KiB reaches 64 KiB.
    for (const which of [0, 1, 0] as const) publishChunk(which, 16 * 1024);
    expect(collected).toBe(0);
    publishChunk(1, 16 * 1024);
    expect(collected).toBe(1);
    expect(collection.collections()).toBe(1);
    collection.stop();
    for (let i = 0; i < 8; i++) publishChunk(1, 16 * 1024);
    expect(collected).toBe(1);
    for (const name of BODY_CHUNK_CHANNELS) expect(channel(name).hasSubscribers).toBe(false);
  });

  test('a collector that throws is not asked again, and the error stays out of undici', () => {
    let calls = 0;
    const collection = startBufferCollection({
      collectYoung: () => {
        calls++;
        throw new Error('no collector');
      },
      limitBytes: 16 * 1024,
      minIntervalMs: 0,
    });
    expect(() => publishChunk(1, 16 * 1024)).not.toThrow();
    publishChunk(0, 16 * 1024);
    expect(calls).toBe(1);
    for (const name of BODY_CHUNK_CHANNELS) expect(channel(name).hasSubscribers).toBe(false);
    collection.stop();
  });

  test('counts bytes, not characters or elements', () => {
    let collected = 0;
    const collection = startBufferCollection({
      collectYoung: () => collected++,
      limitBytes: 4,
      minIntervalMs: 0,
    });
    channel(BODY_CHUNK_CHANNELS[0]).publish({ chunk: 'éé' }); // 2 characters, 4 bytes
    expect(collected).toBe(1);
    channel(BODY_CHUNK_CHANNELS[0]).publish({ chunk: new Uint16Array(2) }); // 2 elements, 4 bytes
    expect(collected).toBe(2);
    channel(BODY_CHUNK_CHANNELS[0]).publish({ chunk: undefined });
    expect(collected).toBe(2);
    collection.stop();
  });

  test("after V8's own collection, bytes counted before it no longer count", async () => {
    let collected = 0;
    const collection = startBufferCollection({
      collectYoung: () => collected++,
      limitBytes: MB,
      minIntervalMs: 0,
    });
    publishChunk(1, 768 * 1024);
    // Enough short-lived objects to fill any young generation: V8 collects it on its own.
    let young: object[] = [];
    for (let i = 0; i < 2_000_000; i++) {
      young.push({ i });
      if (young.length === 1000) young = [];
    }
    await sleep(50); // the collection is reported a few ticks later
    publishChunk(1, 768 * 1024);
    collection.stop();
    expect(collected).toBe(0);
  });
});
