import { channel } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from '@jest/globals';
import {
  BODY_CHUNK_CHANNELS,
  createByteCount,
  startBufferCollection,
  youngCollectorOf,
} from './buffer-collection.js';

const MB = 1024 * 1024;

describe('the byte count', () => {
  test('asks for a collection each time the bytes since the last one reach the limit', () => {
    const count = createByteCount(2 * MB);
    const decisions = [0.5, 0.5, 0.9, 0.1, 1.9, 0.2].map((mb) => count.shouldCollect(mb * MB));
    // 0.5 + 0.5 + 0.9 = 1.9 is under 2; + 0.1 reaches it; then 1.9 is under, + 0.2 is over.
    expect(decisions).toEqual([false, false, false, true, false, true]);
  });

  test('a collection V8 made on its own starts the count again', () => {
    const count = createByteCount(2 * MB);
    expect(count.shouldCollect(1.5 * MB)).toBe(false);
    count.collected();
    expect(count.shouldCollect(1.5 * MB)).toBe(false);
    expect(count.shouldCollect(0.5 * MB)).toBe(true);
  });
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
    expect(channel(BODY_CHUNK_CHANNELS[1]).hasSubscribers).toBe(false);
  });

  test("after V8's own collection, bytes counted before it no longer count", async () => {
    let collected = 0;
    const collection = startBufferCollection({ collectYoung: () => collected++, limitBytes: MB });
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
