import session from 'express-session';
import type { SessionData } from 'express-session';

type Callback<T = void> = (err?: unknown, value?: T) => void;

interface Entry {
  /** Serialized: every request gets its own copy, as with a networked store. */
  readonly json: string;
  expiresAt: number;
}

/**
 * The embedded session store (`session.store: memory`) for a single instance. Entries expire
 * after `idleMs` without use (express-session touches on every request) and are pruned in the
 * background, so memory is bounded by the number of active users.
 */
export class MemorySessionStore extends session.Store {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.timer = setInterval(() => this.prune(), Math.min(60_000, idleMs)).unref();
  }

  override get(sid: string, callback: Callback<SessionData | null>): void {
    let entry = this.entries.get(sid);
    if (entry !== undefined && entry.expiresAt <= this.now()) {
      this.entries.delete(sid);
      entry = undefined;
    }
    process.nextTick(
      callback,
      null,
      entry === undefined ? null : (JSON.parse(entry.json) as SessionData),
    );
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    this.entries.set(sid, { json: JSON.stringify(data), expiresAt: this.now() + this.idleMs });
    if (callback) process.nextTick(callback);
  }

  override touch(sid: string, _data: SessionData, callback?: Callback): void {
    const entry = this.entries.get(sid);
    if (entry !== undefined) entry.expiresAt = this.now() + this.idleMs;
    if (callback) process.nextTick(callback);
  }

  override destroy(sid: string, callback?: Callback): void {
    this.entries.delete(sid);
    if (callback) process.nextTick(callback);
  }

  override length(callback: Callback<number>): void {
    process.nextTick(callback, null, this.entries.size);
  }

  override clear(callback?: Callback): void {
    this.entries.clear();
    if (callback) process.nextTick(callback);
  }

  /** Number of live sessions, for the `ztna_sessions_active` gauge. */
  size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [sid, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(sid);
  }

  /** Stops the prune timer (it is unref'd, so this is only for tidy tests). */
  close(): void {
    clearInterval(this.timer);
  }
}
