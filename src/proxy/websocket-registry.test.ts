import { Socket } from 'node:net';
import { afterEach, describe, expect, test } from '@jest/globals';
import { pino } from 'pino';
import type { Grant } from '../jit/grants.js';
import { MemorySessionStore } from '../session/memory-store.js';
import { createWebSocketRegistry } from './websocket-registry.js';

const HOUR = 3_600_000;
const silent = pino({ level: 'silent' });
let clock = Date.parse('2026-11-27T10:00:00Z');
const store = new MemorySessionStore(HOUR, () => clock);
const sockets: Socket[] = [];

function socket(): Socket {
  const s = new Socket();
  sockets.push(s);
  return s;
}

function grant(id: string, expiresInMs = HOUR): Grant {
  return {
    id,
    grant: 'admin',
    user: { sub: 'bob' },
    grantedAt: clock,
    expiresAt: clock + expiresInMs,
    grantedBy: 'alice@corp.example',
    reason: 'test',
  };
}

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

describe('WebSockets a just-in-time grant let through', () => {
  test('an upgrade whose grant was revoked while it was being authorized is refused, as for sessions', () => {
    const registry = createWebSocketRegistry(store, silent, 60_000, () => clock);
    registry.closeGrants(['g-revoked']);
    const late = socket();
    expect(registry.holdGrant(grant('g-revoked'), late)).toBe(false);
    expect(late.destroyed).toBe(true);
    const other = socket();
    expect(registry.holdGrant(grant('g-other'), other)).toBe(true);
    expect(other.destroyed).toBe(false);
  });

  test('the sweep closes sockets of a grant that ran out or is gone from the store, even if no message came', async () => {
    const registry = createWebSocketRegistry(store, silent, 60_000, () => clock);
    const running = grant('g-running', 2 * HOUR);
    const expiring = grant('g-expiring', HOUR);
    const revokedElsewhere = grant('g-revoked-elsewhere', 2 * HOUR);
    for (const g of [running, expiring, revokedElsewhere]) await store.grants.issue(g);
    const [a, b, c] = [socket(), socket(), socket()];
    expect(registry.holdGrant(running, a)).toBe(true);
    expect(registry.holdGrant(expiring, b)).toBe(true);
    expect(registry.holdGrant(revokedElsewhere, c)).toBe(true);
    // Another instance revoked this one; its bus message never arrived here.
    await store.grants.revoke({ id: revokedElsewhere.id });
    clock += HOUR + 1;
    await registry.sweep();
    expect([a.destroyed, b.destroyed, c.destroyed]).toEqual([false, true, true]);
  });
});
