import type { CompiledCondition } from '../types.js';

export const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type DayName = (typeof DAY_NAMES)[number];

export interface TimeSpec {
  readonly days?: readonly DayName[] | undefined;
  /** `08:00-18:00`; the end is exclusive; `22:00-06:00` spans midnight. */
  readonly between?: string | undefined;
  /** IANA time zone, e.g. Europe/Berlin. */
  readonly tz: string;
}

/** Minutes since midnight of `HH:MM` (24:00 allowed as an end). */
export function parseClock(text: string): number {
  const [h, m] = text.split(':').map(Number);
  return h! * 60 + m!;
}

/**
 * `time: { days: [mon, tue], between: "08:00-18:00", tz: Europe/Berlin }`. Local day and time
 * come from the IANA zone (daylight saving included), computed once per minute and cached:
 * offsets are whole minutes, so the local minute only changes at minute boundaries. For a
 * window across midnight, `days` names the local day of the moment judged.
 */
export function compileTime(spec: TimeSpec): CompiledCondition {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: spec.tz,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const days = spec.days === undefined ? undefined : new Set<string>(spec.days);
  const [start, end] =
    spec.between === undefined ? [0, 24 * 60] : spec.between.split('-').map(parseClock);
  let cachedMinute = NaN;
  let cachedDay = '';
  let cachedClock = 0;

  function local(now: number): { day: string; clock: number } {
    const minute = Math.floor(now / 60_000);
    if (minute !== cachedMinute) {
      const parts = format.formatToParts(now);
      const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
      cachedDay = get('weekday').toLowerCase().slice(0, 3);
      cachedClock = Number(get('hour')) * 60 + Number(get('minute'));
      cachedMinute = minute;
    }
    return { day: cachedDay, clock: cachedClock };
  }

  const described = [
    spec.days && `on ${spec.days.join(', ')}`,
    spec.between && `between ${spec.between}`,
    spec.tz,
  ]
    .filter(Boolean)
    .join(' ');
  return {
    kind: 'time',
    description: `time ${described}`,
    test: (_input, now) => {
      const { day, clock } = local(now);
      if (days !== undefined && !days.has(day)) return false;
      return start! <= end! ? clock >= start! && clock < end! : clock >= start! || clock < end!;
    },
  };
}
