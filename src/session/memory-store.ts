import session from 'express-session';
import type { SessionData } from 'express-session';
import { MemoryGrantStore } from '../jit/memory-grants.js';
import { flatCopy } from '../lib/flat-string.js';
import { packJson, unpackJson } from './packed-json.js';
import { PackedTokens } from './packed-tokens.js';
import { lookupKeysFor, summarize, userKeysOf } from './store.js';
import type { GatewayStore, SessionSummary } from './store.js';

type Callback<T = void> = (err?: unknown, value?: T) => void;

/**
 * How many parsed sessions the request path keeps (a few KB each): the burst of requests of a
 * page load parses its session once, for the last this-many users who sent one.
 */
const SHARED_PARSES = 1_000;

interface Entry {
  /**
   * Serialized without the IdP tokens, and packed (packed-json.ts: a third of the JSON's size):
   * every read gets its own copy, as with a networked store.
   */
  readonly packedJson: string;
  /**
   * Only refresh and logout read them, and they replace them whole: one frozen copy, packed, is
   * shared by every read.
   */
  readonly tokens: PackedTokens | undefined;
  readonly userKeys: readonly string[];
  expiresAt: number;
}

/**
 * The sessions under one index key: one id (nearly every user has one session at a time),
 * or a Set once there are more. A Set per key cost about 380 bytes a session.
 */
type Sids = string | Set<string>;

/**
 * The embedded session store (`session.store: memory`) for a single instance. Entries expire
 * after `idleMs` without use (express-session touches on every request) and are pruned in the
 * background, so memory is bounded by the number of active users. An index by user (sub and
 * email) serves the admin API.
 */
export class MemorySessionStore extends session.Store implements GatewayStore {
  private readonly entries = new Map<string, Entry>();
  private readonly byUser = new Map<string, Sids>();
  /** Frozen parses for getForRequest, by stored version: a set makes a new entry. Bounded. */
  private readonly parsed = new Map<Entry, Readonly<SessionData>>();
  private readonly timer: NodeJS.Timeout;
  readonly grants: MemoryGrantStore;

  constructor(
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.grants = new MemoryGrantStore(now);
    this.timer = setInterval(() => this.prune(), Math.min(60_000, idleMs)).unref();
  }

  override get(sid: string, callback: Callback<SessionData | null>): void {
    const entry = this.live(sid);
    process.nextTick(callback, null, entry === undefined ? null : this.dataOf(entry));
  }

  /**
   * Unpacks and parses a session once for a burst of requests, not once for each: JSON.parse
   * alone was 3% of a signed-in request's CPU under load (`npm run bench`, --cpu-prof). The
   * shared parse is frozen throughout; each read gets its own top-level copy (see
   * GatewayStore.getForRequest).
   */
  getForRequest(sid: string, callback: Callback<SessionData | null>): void {
    const entry = this.live(sid);
    process.nextTick(callback, null, entry === undefined ? null : this.sharedDataOf(entry));
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    // Made before the old entry goes: a session that cannot be stored (say, a token that is
    // not text) leaves the one stored before it in place, and the caller gets the error.
    let entry: Entry;
    try {
      entry = this.entryOf(data);
    } catch (error) {
      if (callback === undefined) throw error;
      process.nextTick(callback, error);
      return;
    }
    this.remove(sid);
    this.entries.set(sid, entry);
    for (const key of entry.userKeys) this.index(key, sid);
    if (callback) process.nextTick(callback);
  }

  /** Check and write in one synchronous step: nothing can end the session in between. */
  async update(sid: string, data: SessionData): Promise<boolean> {
    if (this.live(sid) === undefined) return false;
    this.set(sid, data);
    return true;
  }

  override touch(sid: string, _data: SessionData, callback?: Callback): void {
    const entry = this.live(sid);
    if (entry !== undefined) entry.expiresAt = this.now() + this.idleMs;
    if (callback) process.nextTick(callback);
  }

  override destroy(sid: string, callback?: Callback): void {
    this.remove(sid);
    if (callback) process.nextTick(callback);
  }

  override length(callback: Callback<number>): void {
    process.nextTick(callback, null, this.entries.size);
  }

  override clear(callback?: Callback): void {
    this.entries.clear();
    this.byUser.clear();
    this.parsed.clear();
    if (callback) process.nextTick(callback);
  }

  async listUserSessions(user: string): Promise<SessionSummary[]> {
    return this.sidsUnder(lookupKeysFor(user)).flatMap((sid) => {
      const entry = this.live(sid);
      return entry === undefined ? [] : [summarize(sid, this.dataOf(entry))];
    });
  }

  async revokeUser(user: string): Promise<string[]> {
    return this.revokeIndexed(lookupKeysFor(user));
  }

  async revokeIndexed(
    keys: readonly string[],
    where?: (data: Partial<SessionData>) => boolean,
  ): Promise<string[]> {
    const sids = this.sidsUnder(keys).filter((sid) => {
      const entry = this.live(sid);
      return entry !== undefined && (where === undefined || where(this.dataOf(entry)));
    });
    for (const sid of sids) this.remove(sid);
    return sids;
  }

  async count(): Promise<number> {
    return this.entries.size;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
  }

  /** Number of sessions held (for the `ztna_sessions_active` gauge). */
  size(): number {
    return this.entries.size;
  }

  private entryOf(data: SessionData): Entry {
    const { tokens, ...rest } = data;
    return {
      packedJson: packJson(JSON.stringify(rest)),
      tokens:
        tokens === undefined || tokens instanceof PackedTokens ? tokens : new PackedTokens(tokens),
      userKeys: userKeysOf(data).map(flatCopy),
      expiresAt: this.now() + this.idleMs,
    };
  }

  private dataOf(entry: Entry): SessionData {
    const data = JSON.parse(unpackJson(entry.packedJson)) as SessionData;
    if (entry.tokens !== undefined) data.tokens = entry.tokens;
    return data;
  }

  private sharedDataOf(entry: Entry): SessionData {
    let shared = this.parsed.get(entry);
    if (shared === undefined) {
      shared = deepFreeze(JSON.parse(unpackJson(entry.packedJson)) as SessionData);
      if (this.parsed.size >= SHARED_PARSES) this.parsed.delete(this.parsed.keys().next().value!);
      this.parsed.set(entry, shared);
    }
    const data = { ...shared };
    if (entry.tokens !== undefined) data.tokens = entry.tokens;
    return data;
  }

  private sidsUnder(keys: readonly string[]): string[] {
    const found = new Set<string>();
    for (const key of keys) {
      const sids = this.byUser.get(key);
      if (typeof sids === 'string') found.add(sids);
      else for (const sid of sids ?? []) found.add(sid);
    }
    return [...found];
  }

  private index(key: string, sid: string): void {
    const sids = this.byUser.get(key);
    if (sids === undefined) this.byUser.set(key, sid);
    else if (typeof sids !== 'string') sids.add(sid);
    else if (sids !== sid) this.byUser.set(key, new Set([sids, sid]));
  }

  private unindex(key: string, sid: string): void {
    const sids = this.byUser.get(key);
    if (sids === sid) {
      this.byUser.delete(key);
    } else if (typeof sids === 'object') {
      sids.delete(sid);
      if (sids.size === 1) this.byUser.set(key, sids.values().next().value!);
    }
  }

  private live(sid: string): Entry | undefined {
    const entry = this.entries.get(sid);
    if (entry !== undefined && entry.expiresAt <= this.now()) {
      this.remove(sid);
      return undefined;
    }
    return entry;
  }

  private remove(sid: string): void {
    const entry = this.entries.get(sid);
    if (entry === undefined) return;
    this.entries.delete(sid);
    this.parsed.delete(entry);
    for (const key of entry.userKeys) this.unindex(key, sid);
  }

  private prune(): void {
    const now = this.now();
    for (const [sid, entry] of this.entries) if (entry.expiresAt <= now) this.remove(sid);
  }
}

/** Freezes parsed JSON throughout: a shared session can be read by many, changed by none. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
