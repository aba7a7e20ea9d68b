/**
 * The one parser for what people and callers type: points in time, retentions, day counts,
 * whole numbers in a range and choices. Pure: no I/O and no clock (`now` is an argument).
 *
 * Every refusal is a BriError USAGE naming what was given and, in its hint, the forms that are
 * accepted; nothing else is ever thrown (no RangeError, no Invalid Date, no silent roll-over
 * such as February 30 becoming March 2).
 */
import { BriError, ErrorCodes } from '../errors.js';

/** The largest distance from the epoch a JavaScript Date can hold (±100,000,000 days). */
export const MAX_TIME_MS = 8.64e15;
/** The last instant a manifest date can hold (ISO 8601 with a four-digit year): a retention may not end later. */
export const LATEST_STORED_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export const DAY_MS = 86_400_000;

export const TIME_FORMS =
  'ISO 8601 with a zone (2026-11-24T10:15:02Z, 2026-11-24T10:15:02.250+01:00, 2026-11-24T10:15Z), a date (2026-11-24: midnight UTC) or milliseconds since the epoch (1795515302000)';
export const RETENTION_FORMS = "'permanent', a number of days of at least 1 (30d), or a date after now (2027-01-01, 2027-01-01T00:00:00Z)";

function usage(message: string, hint: string, details: Record<string, unknown> = {}): BriError {
  return new BriError(ErrorCodes.USAGE, message, { hint, details });
}

/** A value for a message: quoted, and cut short when long (inputs can be anything). */
function shown(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2}))?$/;

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  return month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** ms since the epoch of a UTC calendar time; years 0..99 are years 0..99 (Date.UTC would add 1900). */
function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, ms);
  return t.getTime();
}

/**
 * Seconds since the epoch (what `date +%s` prints: 10 digits until 2286) read as ms would be a moment
 * in 1970, before any archive, so a history or restore would quietly answer about nothing. As ms the
 * window 1e8..1e11 is only 1970-01-02..1973-03-03; as seconds it is 1973..5138.
 */
function looksLikeSeconds(n: number): boolean {
  return n >= 1e8 && n < 1e11;
}

/** Why `input` is not a time; the reason is kept in details for callers that word their own refusal. */
function notATime(input: string, label: string, reason: string, hint: string): BriError {
  return usage(`${label} ${shown(input)} is not a time: ${reason}`, hint, { value: input.slice(0, 60), reason });
}

function secondsGiven(input: string, n: number, label: string): BriError {
  const ms = n * 1000;
  const reason = `it looks like seconds since the epoch (${new Date(ms).toISOString()}); as milliseconds it would be ${new Date(n).toISOString()}`;
  return notATime(input, label, reason, `Give ${label} in milliseconds (add 000: ${ms}) or as an ISO time (${new Date(ms).toISOString()}).`);
}

/**
 * A point in time as ms since the epoch. Accepted: ISO 8601 with a zone (`Z`, `±hh:mm` or `±hhmm`;
 * seconds and up to 9 fraction digits optional, cut to the millisecond), a date alone
 * (`YYYY-MM-DD`, midnight UTC), or digits: ms since the epoch up to 8.64e15, but not from 1e8 to 1e11,
 * which looks like seconds (see looksLikeSeconds). Calendar-checked:
 * months 01-12, days that exist in their month, hours 00-23, minutes and seconds 00-59.
 * From the API a finite number within ±8.64e15 or a valid Date is taken as it is.
 */
export function parseTime(input: string | number | Date, label = 'time'): number {
  const hint = `Give ${label} as ${TIME_FORMS}.`;
  if (input instanceof Date) {
    const t = input.getTime();
    if (Number.isNaN(t)) throw usage(`${label} is an invalid Date`, hint);
    return t;
  }
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || Math.abs(input) > MAX_TIME_MS) throw usage(`${label} ${input} is not a time a date can hold (ms since the epoch within ±8.64e15)`, hint, { value: String(input) });
    return input;
  }
  if (typeof input !== 'string') throw usage(`${label} must be a string, a number or a Date, got ${typeof input}`, hint);
  if (/^\d+$/.test(input)) {
    const n = Number(input);
    if (n > MAX_TIME_MS) throw usage(`${label} ${shown(input)} is too large for ms since the epoch (at most 8640000000000000, the year 275760)`, hint, { value: input.slice(0, 60) });
    if (looksLikeSeconds(n)) throw secondsGiven(input, n, label);
    return n;
  }
  const m = ISO_TIME.exec(input);
  if (!m) {
    const noZone = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(input);
    if (noZone) throw notATime(input, label, 'a time of day needs its zone (Z for UTC, or ±hh:mm)', hint);
    throw usage(`${label} ${shown(input)} is not a time`, hint, { value: input.slice(0, 60) });
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const bad = (what: string) => notATime(input, label, what, hint);
  if (mo < 1 || mo > 12) throw bad(`there is no month ${m[2]}`);
  if (d < 1 || d > daysInMonth(y, mo)) throw bad(`month ${m[2]} of ${m[1]} has no day ${m[3]}`);
  if (m[4] === undefined) return utcMs(y, mo, d, 0, 0, 0, 0);
  const [h, mi, s] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (h > 23) throw bad(`hours go from 00 to 23, not ${m[4]}`);
  if (mi > 59) throw bad(`minutes go from 00 to 59, not ${m[5]}`);
  if (s > 59) throw bad(`seconds go from 00 to 59, not ${m[6]}`);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const zone = m[8]!;
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(-2));
    if (oh > 23 || om > 59) throw bad(`the zone offset ${zone} is not ±hh:mm with hours 00-23 and minutes 00-59`);
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return utcMs(y, mo, d, h, mi, s, ms) - offsetMin * 60_000;
}

/** An optional range of times (`after` .. `before`), each parsed by parseTime; `after` later than `before` is refused. */
export function parseTimeRange(
  range: { after?: string | number | Date | undefined; before?: string | number | Date | undefined },
  labels: { after: string; before: string } = { after: 'after', before: 'before' },
): { after?: number; before?: number } {
  const after = range.after === undefined ? undefined : parseTime(range.after, labels.after);
  const before = range.before === undefined ? undefined : parseTime(range.before, labels.before);
  if (after !== undefined && before !== undefined && after > before) {
    throw usage(`${labels.after} (${new Date(after).toISOString()}) is later than ${labels.before} (${new Date(before).toISOString()}): nothing can match`, `Give ${labels.after} a time no later than ${labels.before}, or swap them.`, { after, before });
  }
  return { ...(after !== undefined ? { after } : {}), ...(before !== undefined ? { before } : {}) };
}

/** A whole number (digits only) from `min` to `max`. */
export function parseInteger(text: string, label: string, range: { min: number; max: number }): number {
  const hint = `Give ${label} as a whole number from ${range.min} to ${range.max}, in digits (e.g. ${range.min}).`;
  const n = typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) throw usage(`${label} ${shown(text)} is not a whole number from ${range.min} to ${range.max}`, hint, { value: String(text).slice(0, 60) });
  return n;
}

/**
 * A number of days of at least 1 whose end, counted from `now`, is a date a manifest can hold
 * (no later than 9999-12-31). `text` is digits, with a `d` after them when `suffix` is true.
 */
export function parseDays(text: string, label: string, now: number, opts: { suffix?: boolean } = {}): number {
  const form = opts.suffix ? 'a number of days followed by d (30d)' : 'a whole number of days (7)';
  const m = typeof text === 'string' ? (opts.suffix ? /^(\d+)d$/ : /^(\d+)$/).exec(text) : null;
  const n = m ? Number(m[1]) : NaN;
  const maxDays = Math.floor((LATEST_STORED_MS - now) / DAY_MS);
  if (!Number.isSafeInteger(n) || n < 1 || n > maxDays) {
    throw usage(`${label} ${shown(text)} is not ${form} from 1 to ${maxDays} (the end must fall before the year 10000)`, `Give ${label} as ${form}, at least 1.`, { value: String(text).slice(0, 60) });
  }
  return n;
}

export type ParsedRetention = 'permanent' | { days: number } | Date;

/** `--retention`: 'permanent', Nd (N >= 1, ending before the year 10000) or a time after `now` (date-only: midnight UTC). */
export function parseRetention(text: string, now: number, label = 'retention'): ParsedRetention {
  const hint = `Give ${label} as ${RETENTION_FORMS}.`;
  if (text === 'permanent') return 'permanent';
  if (typeof text === 'string' && /^\d+d$/.test(text)) {
    try {
      return { days: parseDays(text, label, now, { suffix: true }) };
    } catch (err) {
      throw usage((err as BriError).message, hint, (err as BriError).details);
    }
  }
  let t: number;
  try {
    t = parseTime(text, label);
  } catch (err) {
    // parseTime's reason (no day 30 in that month, a time of day without its zone) is what the user must fix.
    const reason = (err as BriError).details.reason;
    throw usage(`${label} ${shown(text)} is not 'permanent', a number of days or a date${typeof reason === 'string' ? `: ${reason}` : ''}`, hint, { value: String(text).slice(0, 60) });
  }
  if (t <= now) throw usage(`${label} ${shown(text)} is not after now (${new Date(now).toISOString()}): the archive would expire at once${/^\d+$/.test(text) ? `; for days write ${text}d` : ''}`, hint);
  if (t > LATEST_STORED_MS) throw usage(`${label} ${shown(text)} is after 9999-12-31, the last date an archive can record`, hint);
  return new Date(t);
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(text: string, choices: readonly T[], label: string): T {
  if (typeof text === 'string' && (choices as readonly string[]).includes(text)) return text as T;
  throw usage(`${label} ${shown(text)} is not one of ${choices.join(', ')}`, `Give ${label} as one of: ${choices.join(', ')}.`, { value: String(text).slice(0, 60), accepted: [...choices] });
}

/**
 * An option given as an empty string names nothing: `--target ""` (an unset shell variable) must not
 * mean "the data directory", nor `-d ""` the working directory, nor `-s ""` every source.
 */
export function assertNotEmpty(value: unknown, flag: string): void {
  if (value === '') throw usage(`${flag} is empty`, `Give ${flag} a value, or leave the option out for its default (a shell variable that is not set gives an empty one).`, { flag });
}

/**
 * Whether a value meant as a path holds age identity text instead: a key, or an identity file's lines
 * (`BRI_AGE_IDENTITY="$(cat key.txt)"` starts with its '# created:' comment). Such a value is the key and
 * is never quoted: quoting it as a path put the secret key in the message, the hint and the details.
 */
export function isIdentityText(value: string): boolean {
  return /AGE-(SECRET-KEY|PLUGIN)-/i.test(value) || /[\r\n]/.test(value);
}
