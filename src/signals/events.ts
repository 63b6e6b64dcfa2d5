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
 * issuer's `sub` means someone else), `opaque` (a device id for device events, else a `sub`)
 * and `complex` (its `user` and `device` members). Anything else matches nobody.
 */
function readSubject(value: unknown, idpIssuer: string, forDevice: boolean): SignalSubject {
  if (!isObject(value)) return {};
  switch (value.format) {
    case 'email': {
      const email = text(value.email);
      return email === undefined ? {} : { email: email.toLowerCase() };
    }
    case 'iss_sub': {
      const sub = text(value.sub);
      return sub !== undefined && value.iss === idpIssuer ? { sub } : {};
    }
    case 'opaque': {
      const id = text(value.id);
      if (id === undefined) return {};
      return forDevice ? { deviceId: id } : { sub: id };
    }
    case 'complex': {
      const user = readSubject(value.user, idpIssuer, false);
      const device = readSubject(value.device, idpIssuer, true);
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
  idpIssuer: string,
): SignalAction[] {
  const events = payload.events;
  if (!isObject(events)) return [];
  return Object.entries(events).map(([type, event]): SignalAction => {
    const kind = KINDS.get(type) ?? 'other';
    if (kind === 'other' || !isObject(event)) return { kind: 'other' };
    const forDevice = kind === 'device_compliance_change';
    const subject = readSubject(event.subject ?? payload.sub_id, idpIssuer, forDevice);
    if (kind !== 'device_compliance_change') return { kind, subject };
    const timestamp =
      typeof event.event_timestamp === 'number' ? event.event_timestamp : payload.iat;
    return {
      kind,
      subject,
      compliant: event.current_status === 'compliant',
      at: typeof timestamp === 'number' ? timestamp * 1000 : 0,
    };
  });
}
