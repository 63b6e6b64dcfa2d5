/**
 * Ids of one-time tokens (logout tokens, Security Event Tokens) seen while they could still be
 * accepted. Each id is remembered until the moment its token would be refused as too old
 * anyway; only then is it forgotten. A full memory refuses new tokens rather than forget one
 * that could still be replayed: the tokens come from configured IdPs and transmitters, so
 * filling it is a misbehaving sender, not a reason to reopen replay.
 */
export function createReplayMemory(capacity = 100_000) {
  /** id → epoch ms after which its token is refused as too old. */
  const seen = new Map<string, number>();
  return {
    remember(id: string, acceptableUntil: number, now: number): 'new' | 'replayed' | 'full' {
      for (const [known, until] of seen) if (until <= now) seen.delete(known);
      if (seen.has(id)) return 'replayed';
      if (seen.size >= capacity) return 'full';
      seen.set(id, acceptableUntil);
      return 'new';
    },
  };
}
