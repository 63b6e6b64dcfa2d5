import { describe, expect, test } from '@jest/globals';
import { createReplayMemory } from './replay-memory.js';

describe('replay memory of one-time token ids', () => {
  test('a token id is refused again for as long as its token could be accepted, and no longer', () => {
    const memory = createReplayMemory();
    expect(memory.remember('jti-1', 1_000, 0)).toBe('new');
    expect(memory.remember('jti-1', 1_000, 999)).toBe('replayed');
    expect(memory.remember('jti-1', 2_000, 1_000)).toBe('new');
  });

  test('a memory full of ids that could still be replayed refuses new ones instead of forgetting', () => {
    const memory = createReplayMemory(2);
    expect(memory.remember('a', 10_000, 0)).toBe('new');
    expect(memory.remember('b', 10_000, 0)).toBe('new');
    expect(memory.remember('c', 10_000, 1)).toBe('full');
    // Forgetting `a` to make room would let it be replayed.
    expect(memory.remember('a', 10_000, 2)).toBe('replayed');
    // Once old ids expire, there is room again.
    expect(memory.remember('c', 20_000, 10_000)).toBe('new');
  });
});
