import { describe, expect, test } from '@jest/globals';
import { readAccessAsk, readAccessDecision } from './access-forms.js';
import type { JitOffer } from './offer.js';

const offer = (grant: string, maxDurationMs: number, requireReason: boolean): JitOffer => ({
  grant,
  maxDurationMs,
  approvers: { groups: new Set(['owners']), emails: new Set() },
  requireReason,
  route: 'admin',
  host: 'admin.test',
  label: 'jit',
});
const offers = new Map([
  ['admin-access', offer('admin-access', 2 * 3_600_000, true)],
  ['wiki-edit', offer('wiki-edit', 20 * 60_000, false)],
]);

describe('readAccessAsk', () => {
  test('reads a well-formed request: duration in ms, reason trimmed, rd as sent', () => {
    const read = readAccessAsk(
      { grant: 'admin-access', duration: '1h30m', reason: '  incident 7 \n', rd: '/x?y=1' },
      offers,
    );
    expect(read).toEqual({
      ok: true,
      value: {
        offer: offers.get('admin-access'),
        durationMs: 90 * 60_000,
        reason: 'incident 7',
        returnTo: '/x?y=1',
      },
    });
  });

  test('the maximum itself and one minute are accepted; an optional reason may be absent', () => {
    expect(readAccessAsk({ grant: 'wiki-edit', duration: '20m' }, offers)).toMatchObject({
      ok: true,
      value: { durationMs: 20 * 60_000, reason: '', returnTo: undefined },
    });
    expect(readAccessAsk({ grant: 'wiki-edit', duration: '1m' }, offers).ok).toBe(true);
  });

  test.each([
    [{ grant: 'root', duration: '1h', reason: 'r' }, 'No application offers'],
    [{ duration: '1h', reason: 'r' }, 'No application offers'],
    [{ grant: ['admin-access', 'wiki-edit'], duration: '1h', reason: 'r' }, 'No application'],
    [{ grant: 'wiki-edit', duration: '21m' }, 'not among those offered'],
    [{ grant: 'wiki-edit', duration: '59s' }, 'not among those offered'],
    [{ grant: 'wiki-edit', duration: '0m' }, 'not among those offered'],
    [{ grant: 'wiki-edit', duration: '15' }, 'how long'],
    [{ grant: 'wiki-edit' }, 'how long'],
    [{ grant: 'wiki-edit', duration: ['15m', '20m'] }, 'how long'],
    [{ grant: 'admin-access', duration: '1h' }, 'Say why'],
    [{ grant: 'admin-access', duration: '1h', reason: ' \t\n ' }, 'Say why'],
    [{ grant: 'wiki-edit', duration: '1m', reason: 'x'.repeat(501) }, 'longer than 500'],
    [{ grant: 'wiki-edit', duration: '1m', reason: ['a', 'b'] }, 'more than once'],
    [{ grant: 'wiki-edit', duration: '1m', rd: ['/a', '/b'] }, 'two return addresses'],
  ])('refuses form %#', (form, problem) => {
    const read = readAccessAsk(form, offers);
    expect(read.ok).toBe(false);
    expect(read.ok ? '' : read.problem).toContain(problem);
  });

  test('no body at all is refused, not thrown on', () => {
    expect(readAccessAsk(undefined, offers).ok).toBe(false);
  });
});

describe('readAccessDecision', () => {
  test('reads approve and reject with an optional trimmed note', () => {
    expect(readAccessDecision({ id: 'r1', decision: 'approve' })).toEqual({
      ok: true,
      value: { id: 'r1', decision: 'approve', note: '' },
    });
    expect(readAccessDecision({ id: 'r1', decision: 'reject', note: ' no ' })).toEqual({
      ok: true,
      value: { id: 'r1', decision: 'reject', note: 'no' },
    });
  });

  test.each([
    [{ decision: 'approve' }, 'which request'],
    [{ id: '', decision: 'approve' }, 'which request'],
    [{ id: 'x'.repeat(129), decision: 'approve' }, 'which request'],
    [{ id: 'r1', decision: 'Approve' }, 'approve or to reject'],
    [{ id: 'r1', decision: ['approve', 'reject'] }, 'approve or to reject'],
    [{ id: 'r1', decision: 'reject', note: 'n'.repeat(501) }, 'longer than 500'],
  ])('refuses form %#', (form, problem) => {
    const read = readAccessDecision(form);
    expect(read.ok ? '' : read.problem).toContain(problem);
  });
});

describe('what a requester can put in a reason or a note', () => {
  // `ztna-gateway grants list` prints reasons to a terminal and audit lines carry them: a
  // reason that moves the cursor, retitles the window or starts a line of its own forges rows.
  const forged = [
    'incident \u001b]0;owned\u0007',
    'x\u001b[1A\u001b[2K',
    'c1 \u009b2K csi',
    'del \u007f',
    'line\u2028separator',
    'bidi \u202e override',
    'marks \u200f\u200e\u061c that reorder neutral text',
  ];
  test.each(forged)('control characters are refused, with a clear problem: %j', (text) => {
    const ask = readAccessAsk({ grant: 'admin-access', duration: '1h', reason: text }, offers);
    expect(ask).toEqual({
      ok: false,
      problem:
        'The reason must be plain text: no terminal escapes, bidirectional overrides or other control characters.',
    });
    const decision = readAccessDecision({ id: 'r1', decision: 'reject', note: text });
    expect(decision).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^The note must be plain text/),
    });
  });

  test('line breaks and tabs typed in the box become single spaces: no row of its own', () => {
    const reason = 'ok\r\nf00dfeed-0000  admin-access\tapproved by alice\n';
    expect(readAccessAsk({ grant: 'admin-access', duration: '1h', reason }, offers)).toMatchObject({
      ok: true,
      value: { reason: 'ok f00dfeed-0000  admin-access approved by alice' },
    });
  });

  test('ordinary text of any script, punctuation and emoji is accepted as typed', () => {
    const reason = 'Incident #42 — «Zugriff» für 2h, 事件 🚒 (on call)';
    expect(readAccessAsk({ grant: 'admin-access', duration: '1h', reason }, offers)).toMatchObject({
      ok: true,
      value: { reason },
    });
  });
});
