/**
 * Shared Signals events the gateway acts on (SPEC §14): what a verified Security Event Token
 * (RFC 8417) asks for, read from its `events` claim. Pure: no I/O, no clock.
 */

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

/** The `event` label of `ztna_shared_signals_total` (bounded). */
export type SignalKind =
  | 'session_revoked'
  | 'account_disabled'
  | 'credential_change'
  | 'device_compliance_change'
  | 'other';

const KINDS: ReadonlyMap<string, SignalKind> = new Map([
  [`${CAEP}session-revoked`, 'session_revoked'],
  [`${RISC}account-disabled`, 'account_disabled'],
  [`${CAEP}credential-change`, 'credential_change'],
  [`${RISC}account-credential-change-required`, 'credential_change'],
  [`${CAEP}device-compliance-change`, 'device_compliance_change'],
]);

/** Who an event is about, as far as the gateway can match it. */
export interface SignalSubject {
  /** Lower-cased. */
  readonly email?: string;
  /** The IdP's `sub` (an `iss_sub` subject naming the gateway's own IdP). */
  readonly sub?: string;
  readonly deviceId?: string;
}

export type SignalAction =
  | {
      readonly kind: 'session_revoked' | 'account_disabled' | 'credential_change';
      readonly subject: SignalSubject;
    }
  | {
      readonly kind: 'device_compliance_change';
      readonly subject: SignalSubject;
      readonly compliant: boolean;
      /** Epoch ms the change happened (`event_timestamp`, else the SET's `iat`). */
      readonly at: number;
    }
  | { readonly kind: 'other' };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' && value.length <= 512 ? value : undefined;

/**
 * RFC 9493 subject identifiers: `email`, `iss_sub` (only for the gateway's own IdP: another
 * issuer's `sub` means someone else), `opaque` (a device id, for device events only: an opaque
 * user id is the transmitter's own name for someone, not the IdP's `sub`) and `complex` (its
 * `user` and `device` members). Anything else matches nobody (SPEC §14).
 */
function readSubject(
  value: unknown,
  idpIssuers: readonly string[],
  forDevice: boolean,
): SignalSubject {
  if (!isObject(value)) return {};
  switch (value.format) {
    case 'email': {
      const email = text(value.email);
      return email === undefined ? {} : { email: email.toLowerCase() };
    }
    case 'iss_sub': {
      const sub = text(value.sub);
      return sub !== undefined && idpIssuers.includes(value.iss as string) ? { sub } : {};
    }
    case 'opaque': {
      const id = text(value.id);
      return id !== undefined && forDevice ? { deviceId: id } : {};
    }
    case 'complex': {
      const user = readSubject(value.user, idpIssuers, false);
      const device = readSubject(value.device, idpIssuers, true);
      return { ...user, ...(device.deviceId !== undefined && { deviceId: device.deviceId }) };
    }
    default:
      return {};
  }
}

/**
 * The actions of one SET: one per event it carries. The subject is the SET's `sub_id` (RFC
 * 8417 as updated by SSF 1.0), or the event's own `subject` (CAEP's earlier drafts).
 */
export function readSignalActions(
  payload: Readonly<Record<string, unknown>>,
  idpIssuers: readonly string[],
): SignalAction[] {
  const events = payload.events;
  if (!isObject(events)) return [];
  return Object.entries(events).map(([type, event]): SignalAction => {
    const kind = KINDS.get(type) ?? 'other';
    if (kind === 'other' || !isObject(event)) return { kind: 'other' };
    const forDevice = kind === 'device_compliance_change';
    const subject = readSubject(event.subject ?? payload.sub_id, idpIssuers, forDevice);
    if (kind !== 'device_compliance_change') return { kind, subject };
    // The change happened when the event says, but never after the SET was issued (`iat`, which
    // the verifier bounds): a mark stamped in the future would outlaw every report until then.
    const iat = typeof payload.iat === 'number' ? payload.iat : 0;
    const stamped = event.event_timestamp;
    const timestamp =
      typeof stamped === 'number' && Number.isFinite(stamped) ? Math.min(stamped, iat) : iat;
    return {
      kind,
      subject,
      compliant: event.current_status === 'compliant',
      at: timestamp * 1000,
    };
  });
}
