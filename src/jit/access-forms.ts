import { parseDuration } from '../lib/duration.js';
import { hasControlCharacters, MAX_REASON_LENGTH } from './free-text.js';
import type { JitOffer } from './offer.js';

/** The shortest access anyone can ask for: less is not worth an approver's time. */
export const MIN_REQUEST_DURATION_MS = 60_000;

/** A form read, or what is wrong with it in words the person can act on. */
export type FormReading<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

/** What `POST /.ztna/access/request` asks for, checked against the offer. */
export interface AccessAsk {
  readonly offer: JitOffer;
  readonly durationMs: number;
  /** Trimmed; '' when none was given and none is required. */
  readonly reason: string;
  /** The `rd` field as sent (checked by the caller, who knows the host), if any. */
  readonly returnTo: string | undefined;
}

/** What `POST /.ztna/access/decide` asks for. */
export interface AccessDecision {
  readonly id: string;
  readonly decision: 'approve' | 'reject';
  /** Trimmed; '' when none was given. */
  readonly note: string;
}

type Form = Readonly<Record<string, unknown>> | undefined;

/** A single text field: repeated fields (`a=1&a=2`) are refused, never guessed between. */
function field(form: Form, name: string): string | undefined | false {
  const value = form?.[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : false;
}

function fail<T>(problem: string): FormReading<T> {
  return { ok: false, problem };
}

/**
 * A free-text field: trimmed, at most MAX_REASON_LENGTH characters, one line without control
 * characters (the same rule as the admin API's: reasons reach audit lines and terminals). The
 * line breaks and tabs a person types in the reason box become spaces: pressing Enter is no
 * attack, and once joined they can forge no row.
 */
function readText(form: Form, name: string, what: string): FormReading<string> {
  const raw = field(form, name);
  if (raw === false) return fail(`The ${what} was sent more than once.`);
  const text = (raw ?? '').replace(/[\r\n\t]+/g, ' ').trim();
  if (text.length > MAX_REASON_LENGTH)
    return fail(`The ${what} is longer than ${MAX_REASON_LENGTH} characters.`);
  if (hasControlCharacters(text))
    return fail(
      `The ${what} must be plain text: no terminal escapes, bidirectional overrides or other control characters.`,
    );
  return { ok: true, value: text };
}

/**
 * Reads the request form against the route table's offers: a known grant, a duration between
 * MIN_REQUEST_DURATION_MS and the offer's max_duration, a reason when the offer requires one.
 */
export function readAccessAsk(
  form: Form,
  offers: ReadonlyMap<string, JitOffer>,
): FormReading<AccessAsk> {
  const grant = field(form, 'grant');
  const offer = typeof grant === 'string' ? offers.get(grant) : undefined;
  if (offer === undefined) return fail('No application offers access under this name.');
  const durationText = field(form, 'duration');
  const durationMs = typeof durationText === 'string' ? parseDuration(durationText) : undefined;
  if (durationMs === undefined) return fail('Choose how long you need access for.');
  if (durationMs < MIN_REQUEST_DURATION_MS || durationMs > offer.maxDurationMs)
    return fail('The duration you asked for is not among those offered.');
  const reason = readText(form, 'reason', 'reason');
  if (!reason.ok) return reason;
  if (offer.requireReason && reason.value === '')
    return fail('Say why you need access: this application asks for a reason.');
  const returnTo = field(form, 'rd');
  if (returnTo === false) return fail('The form was sent with two return addresses.');
  return { ok: true, value: { offer, durationMs, reason: reason.value, returnTo } };
}

/** Reads an approver's decision form. */
export function readAccessDecision(form: Form): FormReading<AccessDecision> {
  const id = field(form, 'id');
  if (typeof id !== 'string' || id === '' || id.length > 128)
    return fail('The form does not say which request to decide.');
  const decision = field(form, 'decision');
  if (decision !== 'approve' && decision !== 'reject')
    return fail('Choose to approve or to reject the request.');
  const note = readText(form, 'note', 'note');
  if (!note.ok) return note;
  return { ok: true, value: { id, decision, note: note.value } };
}
